# syntax=docker/dockerfile:1
# Two stages. `build` installs everything, type-checks (tests included) and compiles src/ into
# dist/, so no image is built from code that does not compile. `runtime` is what runs: the
# compiled dist/, production dependencies only, as the non-root `node` user; no TypeScript
# runner and no sources beyond the Prisma CLI's configuration.
ARG NODE_IMAGE=node:20-alpine

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# Dependencies' install scripts stay off, as on our build machines (nothing is downloaded at
# install time); the project's own steps, `prisma generate` and the build, run explicitly.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN npm run postinstall && npm run typecheck && npm run build

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    CHECKPOINT_DISABLE=1 \
    PRISMA_HIDE_UPDATE_MESSAGE=1 \
    NPM_CONFIG_UPDATE_NOTIFIER=false
WORKDIR /app
COPY package.json package-lock.json ./
# The generated Prisma client is compiled into dist/; the runtime needs only its npm package.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
# What `prisma migrate deploy` reads: the schema and migrations, and prisma.config.ts with the
# two files it imports (the CLI loads TypeScript configuration itself).
COPY prisma ./prisma
COPY prisma.config.ts ./
COPY src/db-url.ts src/env-file.ts ./src/
COPY --from=build /app/dist ./dist
# Files stay root-owned and read-only to the app.
USER node
EXPOSE 3000
# Migrations first (creates the database if missing); then `exec`, so the server is the process
# that receives SIGTERM from `docker stop` and drains (npm would not pass the signal on).
CMD ["sh", "-c", "node --enable-source-maps dist/cli/migrate.js && exec node --enable-source-maps dist/server.js"]
