# The pixelshift image: one image for `api`, `worker`, `migrate`, `setup`, `doctor` and `keys create`
# (docker-compose.yml, deploy/kubernetes/). Runs the TypeScript sources through tsx (a runtime dependency),
# like `npm start` does; sharp's prebuilt libvips for linux-x64/arm64 (glibc) comes with `npm ci`. Runs as
# `node` (uid 1000) and writes only under /tmp (tsx's cache, PIXELSHIFT_DATA_DIR), so the root
# filesystem can be read-only. test/deploy/dockerfile.test.ts keeps it in step with the CLI.
FROM node:20.20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production \
    # Read once at process start by glibc: keeps libvips' threads from growing one malloc arena each.
    MALLOC_ARENA_MAX=2 \
    PIXELSHIFT_DATA_DIR=/tmp/pixelshift
# Text overlays draw with the fonts installed here (the Text unit's default family is DejaVu Sans).
RUN apt-get update && apt-get install -y --no-install-recommends fonts-dejavu-core && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force
COPY bin ./bin
COPY src ./src
COPY tsconfig.json ./
# The workflow bundle workers load (src/temporal/worker/workflow-bundle.ts): built once here instead of by
# webpack at every worker start.
RUN node --import tsx -e "import('./src/temporal/worker/workflow-bundle.ts').then((m) => m.writeWorkflowBundle('dist/workflow-bundle.js'))"
# The dashboard (docs/dashboard.md), built once here: `pixelshift api` finds it up to date and writes nothing
# at start.
COPY packages/client/src ./packages/client/src
COPY dashboard ./dashboard
COPY scripts/build-dashboard.ts ./scripts/build-dashboard.ts
RUN node --import tsx scripts/build-dashboard.ts
USER node
ENTRYPOINT ["node", "--import", "tsx", "src/app/main.ts"]
CMD ["api"]
