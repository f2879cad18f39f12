"""Error numbers (include/uapi/asm-generic/errno-base.h, errno.h)."""

EPERM = 1
ENOENT = 2
ESRCH = 3
EINTR = 4
EIO = 5
E2BIG = 7
EAGAIN = 11
ENOMEM = 12
EACCES = 13
EFAULT = 14
EBUSY = 16
EEXIST = 17
EINVAL = 22
ENOSPC = 28
ENOSYS = 38

errorname = {v: k for k, v in dict(globals()).items() if k.startswith("E") and isinstance(v, int)}
