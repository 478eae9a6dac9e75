/** The pool's timestamp parser may hand back strings (drizzle installs its own); both become Dates here. */
export const toDate = (v: Date | string | null): Date | null =>
  v === null ? null : v instanceof Date ? v : new Date(v)
