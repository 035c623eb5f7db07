/* `npm run bench -- --fsync-delay-ms N`: loaded into both relays with
 * LD_PRELOAD, it makes every fsync and fdatasync wait N ms before the real one,
 * as a network block device (a cloud volume) does, so the two relays can be
 * compared on such a disk. Built by slow-fsync.ts. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <time.h>

static void wait_delay(void) {
  const char *us = getenv("BENCH_FSYNC_DELAY_US");
  long n = us ? atol(us) : 0;
  struct timespec t = { n / 1000000, (n % 1000000) * 1000 };
  if (n > 0) nanosleep(&t, NULL);
}

int fsync(int fd) {
  static int (*real)(int);
  if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
  wait_delay();
  return real(fd);
}

int fdatasync(int fd) {
  static int (*real)(int);
  if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
  wait_delay();
  return real(fd);
}
