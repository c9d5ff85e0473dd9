# syntax=docker/dockerfile:1
# Multi-stage: the build stage has the dev dependencies (TypeScript) and compiles to dist/; the
# runtime image has production dependencies and dist/ only, and runs as the unprivileged `node` user.
# Node 22, the current LTS line; the code also runs on Node 20.19+ (package.json "engines").

FROM node:22-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/build.mjs ./scripts/
COPY src ./src
COPY workers ./workers
RUN npm run build

FROM node:22-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
# The operators' CLI (`node bin/fulfill.js …`), which runs dist/src/cli/main.js.
COPY bin ./bin
USER node
EXPOSE 3000 9464
# Liveness of whichever process the container runs: the API answers /healthz on PORT, a worker on
# METRICS_PORT (a worker run with METRICS_PORT=off has nothing to probe: disable the check for it).
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "const ports = [process.env.PORT || 3000, process.env.METRICS_PORT || 9464]; Promise.any(ports.map((port) => fetch('http://127.0.0.1:' + port + '/healthz').then((r) => { if (!r.ok) throw new Error(String(r.status)); }))).then(() => process.exit(0), () => process.exit(1))"]
# The HTTP API; docker-compose.yml runs the workers and the sandbox from the same image.
CMD ["node", "dist/workers/api.js"]
