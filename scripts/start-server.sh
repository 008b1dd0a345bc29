#!/bin/sh
# Starts the compiled server (dist/main.js) the way it runs in production: `npm start`, the
# benchmarks and a service manager all start it here, so the figures in the README are the
# figures of the server people run. `exec` keeps one process: its PID is the server's.
#
# Three memory settings, measured (README "Memory"): over a 1 GiB upload the server peaked at
# 151–170 MB without them and at 130–134 MB with them; the idle server settles at 96–100 MB
# instead of 118–127 MB; the serving benchmark showed no loss beyond its run-to-run noise.
# - MALLOC_MMAP_THRESHOLD_: glibc raises its mmap threshold each time a large buffer is freed;
#   after that, start-up, upload and inflate buffers land in the main heap, which fragments and
#   is not given back. A fixed threshold keeps large buffers in mmap, returned when freed.
#   (Alone: idle about 20 MB lower.)
# - --max-semi-space-size=8: the young generation stays at 16 MB instead of growing to 32 MB
#   in the allocation burst of start-up and keeping that size. 4 saved a little more memory
#   but cost a few percent of requests per second.
# - --liftoff-only: Prisma's query compiler is a 2 MB WebAssembly module; V8's optimising tier
#   would recompile its hot functions, holding 15–40 MB more for query planning about 10 %
#   faster (some 30 µs of a 350 µs query).
: "${MALLOC_MMAP_THRESHOLD_:=131072}"
export MALLOC_MMAP_THRESHOLD_
exec "${NODE:-node}" --max-semi-space-size=8 --liftoff-only "$(dirname "$0")/../dist/main.js" "$@"
