# The pixelshift image: one image for `api`, `worker`, `migrate`, `setup` and `keys create`.
# Runs the TypeScript sources through tsx (a runtime dependency), like `npm start` does.
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production \
    # Read once at process start by glibc: keeps libvips' threads from growing one malloc arena each.
    MALLOC_ARENA_MAX=2
# Text overlays draw with the fonts installed here (the Text unit's default family is DejaVu Sans).
RUN apt-get update && apt-get install -y --no-install-recommends fonts-dejavu-core && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force
COPY bin ./bin
COPY src ./src
COPY tsconfig.json ./
USER node
ENTRYPOINT ["node", "--import", "tsx", "src/app/main.ts"]
CMD ["api"]
