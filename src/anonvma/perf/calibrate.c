/*
 * The single-CPU costs of the performance model, measured on the live kernel.
 *
 *     calibrate fork N ROUNDS     fastest fork + exit + waitpid of a process
 *                                 with N written single-page anonymous VMAs
 *                                 (benchmarks/fork_exit.c's workload), ns
 *     calibrate fault N ROUNDS    fastest mean write fault on a fresh page
 *                                 of an N-page anonymous mapping, ns
 *     calibrate remap N ROUNDS    fastest mean munmap + mmap(MAP_FIXED) of
 *                                 the middle page of a written 3-page
 *                                 mapping (a split and a merge), ns
 *     calibrate pingpong N ROUNDS fastest mean one-way pipe wakeup between
 *                                 two processes on one CPU: a context
 *                                 switch and a wakeup, ns
 *     calibrate workers W ROUNDS  aim7's fork_test in small: a parent with
 *                                 12 written VMAs forks W workers, each
 *                                 forking and reaping 200 children; the
 *                                 fastest wall time of the lot, ns
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

static char *map(char *at, long pages, int fixed)
{
	char *p = mmap(at, pages * 4096, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | (fixed ? MAP_FIXED : 0), -1, 0);

	if (p == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	return p;
}

static long long fork_exit(long n)
{
	char *base = (char *)0x200000000000UL;
	static int mapped;
	long long t;
	pid_t pid;

	for (long i = 0; !mapped && i < n; i++)
		*map(base + 2 * i * 4096, 1, 1) = 1;
	mapped = 1;
	t = now_ns();
	pid = fork();
	if (pid == 0)
		_exit(0);
	if (pid < 0 || waitpid(pid, NULL, 0) != pid) {
		perror("fork");
		exit(1);
	}
	return now_ns() - t;
}

static long long fault(long n)
{
	char *p = map(NULL, n, 0);
	long long t = now_ns();

	for (long i = 0; i < n; i++)
		p[i * 4096] = 1;
	t = now_ns() - t;
	munmap(p, n * 4096);
	return t / n;
}

static long long remap(long n)
{
	static char *p;
	long long t;

	if (!p) {
		p = map(NULL, 3, 0);
		memset(p, 1, 3 * 4096);
	}
	t = now_ns();
	for (long i = 0; i < n; i++) {
		munmap(p + 4096, 4096);
		map(p + 4096, 1, 1);
	}
	return (now_ns() - t) / n;
}

static long long pingpong(long n)
{
	int ab[2], ba[2];
	char c = 0;
	long long t;
	pid_t pid;
	cpu_set_t one;

	CPU_ZERO(&one);
	CPU_SET(0, &one);
	sched_setaffinity(0, sizeof(one), &one);
	if (pipe(ab) || pipe(ba)) {
		perror("pipe");
		exit(1);
	}
	pid = fork();
	if (pid == 0) {
		for (long i = 0; i < n; i++)
			if (read(ab[0], &c, 1) != 1 || write(ba[1], &c, 1) != 1)
				_exit(1);
		_exit(0);
	}
	t = now_ns();
	for (long i = 0; i < n; i++)
		if (write(ab[1], &c, 1) != 1 || read(ba[0], &c, 1) != 1)
			exit(1);
	t = now_ns() - t;
	waitpid(pid, NULL, 0);
	close(ab[0]); close(ab[1]); close(ba[0]); close(ba[1]);
	return t / (2 * n);
}

static long long workers(long w)
{
	char *base = (char *)0x300000000000UL;
	static int mapped;
	long long t;

	for (long i = 0; !mapped && i < 12; i++)
		*map(base + 2 * i * 4096, 1, 1) = 1;
	mapped = 1;
	t = now_ns();
	for (long i = 0; i < w; i++) {
		if (fork() == 0) {
			for (int k = 0; k < 200; k++) {
				pid_t pid = fork();

				if (pid == 0)
					_exit(0);
				if (pid < 0 || waitpid(pid, NULL, 0) != pid)
					_exit(1);
			}
			_exit(0);
		}
	}
	for (long i = 0; i < w; i++)
		wait(NULL);
	return now_ns() - t;
}

int main(int argc, char **argv)
{
	long n = argc > 2 ? atol(argv[2]) : 1, rounds = argc > 3 ? atol(argv[3]) : 20;
	long long (*fn)(long);
	long long best = -1;

	if (argc < 2)
		return 2;
	if (!strcmp(argv[1], "fork"))
		fn = fork_exit;
	else if (!strcmp(argv[1], "fault"))
		fn = fault;
	else if (!strcmp(argv[1], "remap"))
		fn = remap;
	else if (!strcmp(argv[1], "pingpong"))
		fn = pingpong;
	else if (!strcmp(argv[1], "workers"))
		fn = workers;
	else
		return 2;
	for (long r = 0; r < rounds; r++) {
		long long t = fn(n);

		if (best < 0 || t < best)
			best = t;
	}
	printf("%lld\n", best);
	return 0;
}
