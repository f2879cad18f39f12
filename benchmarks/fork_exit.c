/*
 * fork + exit of a process with N written anonymous VMAs, on the live kernel.
 *
 *     fork_exit N ROUNDS   ->  prints the fastest fork+exit of ROUNDS, in ns
 *
 * The VMAs are single pages two pages apart, so they never merge; each is
 * written once, so each has an anon_vma that fork must clone.  The time runs
 * from fork() until waitpid() has reaped the child, whose exit tears down
 * every copied VMA: the same work the model does in kernel_clone + do_exit.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 1000, rounds = argc > 2 ? atol(argv[2]) : 20;
	char *base = (char *)0x200000000000UL;
	long long best = -1;

	for (long i = 0; i < n; i++) {
		char *p = mmap(base + 2 * i * 4096, 4096, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
		if (p == MAP_FAILED) {
			perror("mmap");
			return 1;
		}
		*p = 1;
	}
	for (long r = 0; r < rounds; r++) {
		long long t = now_ns();
		pid_t pid = fork();

		if (pid == 0)
			_exit(0);
		if (pid < 0 || waitpid(pid, NULL, 0) != pid) {
			perror("fork");
			return 1;
		}
		t = now_ns() - t;
		if (best < 0 || t < best)
			best = t;
	}
	printf("%lld\n", best);
	return 0;
}
