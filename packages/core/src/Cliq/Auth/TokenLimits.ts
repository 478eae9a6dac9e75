/**
 * Zoho Accounts limits per refresh token (docs/upstream.md#token-limits): at most 10 access tokens minted per 10 minutes,
 * at most 10 live at once (minting an 11th revokes the oldest). They are not Cliq buckets, so they are not in the
 * bucket table; the client keeps within them and the simulator enforces them, both from here.
 */
export const ZOHO_TOKEN_LIMITS = { mintsPerWindow: 10, mintWindowMs: 10 * 60_000, liveTokens: 10 } as const
