# syntax=docker/dockerfile:1
# Multi-stage: the build stage has the dev dependencies (TypeScript) and compiles to dist/; the
# runtime image has production dependencies and dist/ only, and runs as the unprivileged `node` user.

FROM node:20-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/build.mjs ./scripts/
COPY src ./src
COPY workers ./workers
RUN npm run build

FROM node:20-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
# The operators' CLI (`node bin/fulfill.js …`), which runs dist/src/cli/main.js.
COPY bin ./bin
USER node
EXPOSE 3000
# The HTTP API; docker-compose.yml runs the workers and the sandbox from the same image.
CMD ["node", "dist/workers/api.js"]
