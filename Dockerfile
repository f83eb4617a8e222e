# registry-proxy for Cloud Run (or any container host): the Node adapter behind
# dist/cloud-run-cli.js, listening on 0.0.0.0:$PORT, JSON logs, credentials from the metadata
# server. Build: docker build -t registry-proxy .

FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# No install scripts are needed to build; skipping them keeps the build offline-friendly.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsup.config.ts ./
COPY lib ./lib
COPY adapters ./adapters
RUN npx tsup && npm prune --omit=dev --ignore-scripts

# Distroless: node and nothing else (no shell, no package manager), running as uid 65532.
FROM gcr.io/distroless/nodejs22-debian12:nonroot
WORKDIR /app
ENV NODE_ENV=production PORT=8080
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
USER nonroot
EXPOSE 8080
# The image's entrypoint is node; node is PID 1 and handles SIGTERM itself (drain, then exit 0).
CMD ["dist/cloud-run-cli.js"]
