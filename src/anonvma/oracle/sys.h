/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * sys.h - the few x86-64 Linux system calls the scenario interpreter needs.
 *
 * The interpreter is built -nostdlib -static with no writable segment, so
 * that when it starts the only anonymous memory of the process is its stack
 * (whose anon_vma execve created).  Everything here is therefore inline,
 * const or on the stack: no globals, no libc.
 */
#ifndef ANONVMA_SYS_H
#define ANONVMA_SYS_H

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long u64;
typedef int s32;
typedef long s64;

#define __NR_read		0
#define __NR_write		1
#define __NR_open		2
#define __NR_close		3
#define __NR_ioctl		16
#define __NR_fstat		5
#define __NR_poll		7
#define __NR_mmap		9
#define __NR_mprotect		10
#define __NR_munmap		11
#define __NR_brk		12
#define __NR_rt_sigaction	13
#define __NR_rt_sigreturn	15
#define __NR_mremap		25
#define __NR_madvise		28
#define __NR_getpid		39
#define __NR_sendmsg		46
#define __NR_recvmsg		47
#define __NR_socketpair		53
#define __NR_clone		56
#define __NR_fork		57
#define __NR_execve		59
#define __NR_exit		60
#define __NR_kill		62
#define __NR_personality		135
#define __NR_mlock		149
#define __NR_munlock		150
#define __NR_prctl		157
#define __NR_arch_prctl		158
#define __NR_exit_group		231
#define __NR_mbind		237
#define __NR_mlock2		325
#define __NR_userfaultfd	323
#define __NR_pidfd_open		434
#define __NR_process_madvise	440
#define __NR_mseal		462

#define PROT_NONE		0x0
#define PROT_READ		0x1
#define PROT_WRITE		0x2
#define PROT_EXEC		0x4
#define MAP_PRIVATE		0x02
#define MAP_FIXED		0x10
#define MAP_ANONYMOUS		0x20
#define MAP_NORESERVE		0x4000
#define MAP_FIXED_NOREPLACE	0x100000
#define MREMAP_MAYMOVE		1
#define MREMAP_FIXED		2
#define MREMAP_DONTUNMAP	4

#define SIGKILL			9
#define SIGBUS			7
#define SIGSEGV			11
#define SIGSTOP			19
#define SA_SIGINFO		0x00000004
#define SA_RESTORER		0x04000000
#define ARCH_SET_FS		0x1002
#define ARCH_GET_FS		0x1003
#define AF_UNIX			1
#define SOCK_DGRAM		2
#define SOL_SOCKET		1
#define SCM_RIGHTS		1
#define POLLIN			0x0001
#define O_RDONLY		0
#define O_NONBLOCK		04000
#define S_IFMT			0170000
#define S_IFREG			0100000
#define ESRCH			3
#define ENOMEM			12
#define ADDR_NO_RANDOMIZE	0x0040000
#define MLOCK_ONFAULT		0x01
#define PR_SET_VMA		0x53564d41
#define PR_SET_VMA_ANON_NAME	0
#define CLONE_VM		0x00000100
#define CLONE_FS		0x00000200
#define CLONE_FILES		0x00000400
#define CLONE_SIGHAND		0x00000800
#define CLONE_THREAD		0x00010000
#define CLONE_SYSVSEM		0x00040000
#define EINTR			4
#define O_CLOEXEC		02000000
#define UFFD_API		0xAAUL
#define UFFDIO_API		0xc018aa3fUL	/* _IOWR(0xAA, 0x3F, struct uffdio_api) */
#define UFFDIO_REGISTER		0xc020aa00UL	/* _IOWR(0xAA, 0x00, struct uffdio_register) */
#define UFFDIO_MOVE		0xc028aa05UL	/* _IOWR(0xAA, 0x05, struct uffdio_move) */
#define UFFD_FEATURE_SIGBUS	(1UL << 7)
#define UFFDIO_REGISTER_MODE_MISSING	1UL
#define UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES	2UL

static inline s64 syscall6(s64 nr, s64 a, s64 b, s64 c, s64 d, s64 e, s64 f)
{
	register s64 r10 __asm__("r10") = d;
	register s64 r8 __asm__("r8") = e;
	register s64 r9 __asm__("r9") = f;
	s64 ret;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}

#define syscall0(n)		syscall6(n, 0, 0, 0, 0, 0, 0)
#define syscall1(n, a)		syscall6(n, (s64)(a), 0, 0, 0, 0, 0)
#define syscall2(n, a, b)	syscall6(n, (s64)(a), (s64)(b), 0, 0, 0, 0)
#define syscall3(n, a, b, c)	syscall6(n, (s64)(a), (s64)(b), (s64)(c), 0, 0, 0)
#define syscall4(n, a, b, c, d) \
	syscall6(n, (s64)(a), (s64)(b), (s64)(c), (s64)(d), 0, 0)
#define syscall5(n, a, b, c, d, e) \
	syscall6(n, (s64)(a), (s64)(b), (s64)(c), (s64)(d), (s64)(e), 0)

static inline __attribute__((noreturn)) void sys_exit_group(int code)
{
	for (;;)
		syscall1(__NR_exit_group, code);
}

/* Kernel ABI structures (uapi layouts, x86-64). */
struct k_sigaction {
	void *handler;
	u64 flags;
	void *restorer;
	u64 mask;
};

struct iovec {
	void *base;
	u64 len;
};

struct msghdr {
	void *name;
	u32 namelen;
	struct iovec *iov;
	u64 iovlen;
	void *control;
	u64 controllen;
	u32 flags;
};

struct cmsghdr {
	u64 len;
	int level;
	int type;
};

/* One SCM_RIGHTS control message carrying one fd. */
struct cmsg_fd {
	struct cmsghdr hdr;
	int fd;
	int pad;
};

/* struct stat of x86-64 (arch/x86/include/uapi/asm/stat.h) */
struct k_stat {
	u64 dev;
	u64 ino;
	u64 nlink;
	u32 mode;
	u32 uid;
	u32 gid;
	u32 pad0;
	u64 rdev;
	s64 size;
	s64 blksize;
	s64 blocks;
	u64 times[6];
	s64 unused[3];
};

struct pollfd {
	int fd;
	short events;
	short revents;
};

/* gcc may emit calls to these even with -fno-builtin (struct copies). */
void *memset(void *dst, int c, u64 n);
void *memcpy(void *dst, const void *src, u64 n);

#endif /* ANONVMA_SYS_H */
