/* For tests: loaded into a smarthost child with LD_PRELOAD, it makes every
 * fsync and fdatasync fail with EIO while the file named by FAIL_FSYNC_FLAG
 * exists, as a failing disk does; before that they are the real calls.
 * Built by failing-fsync.ts. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

static int failing(void) {
  const char *flag = getenv("FAIL_FSYNC_FLAG");
  return flag && access(flag, F_OK) == 0;
}

int fsync(int fd) {
  static int (*real)(int);
  if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
  if (failing()) return errno = EIO, -1;
  return real(fd);
}

int fdatasync(int fd) {
  static int (*real)(int);
  if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
  if (failing()) return errno = EIO, -1;
  return real(fd);
}
