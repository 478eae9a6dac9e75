# Build: every workspace compiled to JavaScript (npm run build). Runtime: the compiled output, production
# dependencies only, run by plain node as a non-root user. README.md "Operations" describes the image.
ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages/core/package.json packages/core/
COPY packages/db/package.json packages/db/
COPY apps/simulator/package.json apps/simulator/
COPY apps/daemon/package.json apps/daemon/
COPY apps/api/package.json apps/api/
COPY apps/server/package.json apps/server/
COPY apps/demo/package.json apps/demo/
COPY packages/client/package.json packages/client/
COPY apps/cli/package.json apps/cli/
# The root postinstall applies patches/ (a fix to the PostgreSQL driver: see patches/README.md).
COPY patches patches
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY packages packages
COPY apps apps
RUN npm run build

FROM ${NODE_IMAGE} AS runtime
# glibc malloc: keep each synced page's large buffers instead of mapping fresh pages from the kernel every time
# (faster backfills for a little more resident memory; see README.md "Operations").
ENV NODE_ENV=production \
    MALLOC_MMAP_THRESHOLD_=268435456 \
    MALLOC_TRIM_THRESHOLD_=268435456 \
    API_HOST=0.0.0.0 \
    METRICS_HOST=0.0.0.0
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages/core/package.json packages/core/
COPY packages/db/package.json packages/db/
COPY apps/simulator/package.json apps/simulator/
COPY apps/daemon/package.json apps/daemon/
COPY apps/api/package.json apps/api/
COPY apps/server/package.json apps/server/
COPY apps/demo/package.json apps/demo/
COPY packages/client/package.json packages/client/
COPY apps/cli/package.json apps/cli/
# Without dev dependencies there is no patch-package: the driver comes patched from the build stage.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/node_modules/postgres node_modules/postgres
COPY migrations migrations
COPY --from=build /app/packages/core/dist packages/core/dist
COPY --from=build /app/packages/db/dist packages/db/dist
COPY --from=build /app/apps/simulator/dist apps/simulator/dist
COPY --from=build /app/apps/daemon/dist apps/daemon/dist
COPY --from=build /app/apps/api/dist apps/api/dist
COPY --from=build /app/apps/server/dist apps/server/dist
COPY --from=build /app/apps/demo/dist apps/demo/dist
COPY --from=build /app/packages/client/dist packages/client/dist
COPY --from=build /app/apps/cli/dist apps/cli/dist
COPY apps/cli/bin apps/cli/bin
USER node
EXPOSE 8080
# The default command (daemon + API in one process) is ready when its API answers /readyz; docker-compose.yml gives
# the daemon-only service a heartbeat check instead.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=4 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.API_PORT || 8080}/readyz`).then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Exec form: node is PID 1 and receives SIGTERM itself; NodeRuntime.runMain turns it into a graceful stop.
CMD ["node", "apps/server/dist/main.js"]
