// Preloaded into the Prisma CLI by scripts/prisma-cli.cjs; see the reason there.
const realSetTimeout = global.setTimeout;
global.setTimeout = function setTimeoutUnrefLong(fn, ms, ...args) {
  const timer = realSetTimeout(fn, ms, ...args);
  if (ms >= 5000 && timer && typeof timer.unref === 'function') timer.unref();
  return timer;
};
