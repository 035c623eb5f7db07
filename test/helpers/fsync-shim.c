/* Loaded into a process with LD_PRELOAD, it changes what its fsync and
 * fdatasync do, as a disk would:
 * - BENCH_FSYNC_DELAY_US=N: each waits N µs before the real call, as a network
 *   block device (a cloud volume) does (`npm run bench -- --fsync-delay-ms`);
 * - FAIL_FSYNC_FLAG=path: each fails with EIO while that file exists, as a
 *   failing disk does (tests).
 * Built by fsync-shim.ts. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

/* 0 to go on to the real call, -1 (errno set) to fail instead. */
static int before_sync(void) {
  const char *us = getenv("BENCH_FSYNC_DELAY_US");
  long n = us ? atol(us) : 0;
  struct timespec t = { n / 1000000, (n % 1000000) * 1000 };
  if (n > 0) nanosleep(&t, NULL);
  const char *flag = getenv("FAIL_FSYNC_FLAG");
  if (flag && access(flag, F_OK) == 0) return errno = EIO, -1;
  return 0;
}

int fsync(int fd) {
  static int (*real)(int);
  if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
  return before_sync() ? -1 : real(fd);
}

int fdatasync(int fd) {
  static int (*real)(int);
  if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
  return before_sync() ? -1 : real(fd);
}
