# syntax=docker/dockerfile:1
# Two stages. `check` installs everything and type-checks, so no image is built from code that
# does not compile. `runtime` is what runs: production dependencies only, as the non-root `node`
# user. TypeScript runs through tsx (a runtime dependency): there is no build output to copy.
ARG NODE_IMAGE=node:20-alpine

FROM ${NODE_IMAGE} AS check
WORKDIR /app
COPY package.json package-lock.json ./
# Dependencies' install scripts stay off, as on our build machines (nothing is downloaded at
# install time); the project's own postinstall, `prisma generate`, runs explicitly.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN npm run postinstall && npm run typecheck && touch /tmp/typecheck-passed

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    CHECKPOINT_DISABLE=1 \
    PRISMA_HIDE_UPDATE_MESSAGE=1 \
    NPM_CONFIG_UPDATE_NOTIFIER=false
WORKDIR /app
# What `prisma generate` reads: the schema, and prisma.config.ts with the two files it imports
# (it defaults DATABASE_URL, so generating needs no database and no settings).
COPY package.json package-lock.json prisma.config.ts ./
COPY prisma ./prisma
COPY src/db-url.ts src/env-file.ts ./src/
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm run postinstall \
 && npm cache clean --force
COPY src ./src
COPY scripts ./scripts
# BuildKit skips stages nothing depends on: this ties the image to the type check.
COPY --from=check /tmp/typecheck-passed /tmp/
# Files stay root-owned and read-only to the app.
USER node
EXPOSE 3000
# Migrations first (creates the database if missing); then `exec`, so the server is the process
# that receives SIGTERM from `docker stop` and drains (npm would not pass the signal on).
CMD ["sh", "-c", "node --import tsx scripts/migrate.ts && exec node --import tsx src/server.ts"]
