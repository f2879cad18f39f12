// SPDX-License-Identifier: GPL-2.0-only
/*
 * interp.c - run an anonvma scenario file on the live kernel.
 *
 *   interp -c FILE    validate FILE only
 *   interp FILE       run it
 *   interp -t FILE    run it under the oracle harness: stop with SIGSTOP
 *                     after validation so the harness can arm tracing on
 *                     our pid, and announce every process on fd 3 (the
 *                     harness's trace_marker) as "@pid PID NAME"
 *
 * The semantics are those of docs/scenario-format.md: lines run strictly one
 * after another whichever process owns them, an exit is torn down before
 * the next line runs, and processes still alive at the end exit youngest
 * first.  Results that are not kernel events go to stdout, one write() per
 * line: "NAME maps START-END PERMS" and "NAME !OP ERRNO".
 *
 * The interpreter must not create anon_vma objects of its own, so:
 *  - it has no writable segment and no globals; all state lives on the
 *    stack, whose VMA already has an anon_vma (writes and COW faults there
 *    allocate no rmap object);
 *  - processes pass the turn to each other through AF_UNIX datagram socket
 *    pairs, one per process, created before the scenario starts;
 *  - an exiting process sends a pidfd of itself with the turn, and the
 *    receiver polls it: a pidfd becomes readable only once the task has
 *    gone through exit_mm(), so the whole exit_mmap() teardown is done;
 *  - the SIGSEGV handler finds the state through the FS base register
 *    (arch_prctl), which fork and clone copy along with the stack;
 *  - a thread runs on a slice of the main stack (struct interp's
 *    thread_stack), which is shared with it and already has its anon_vma;
 *    only the thread holding the turn runs, so the threads of a process
 *    share one struct interp and each sets in->self when it gets the turn;
 *  - the heap (brk) starts at scenario page 0: our last segment, heap_mark,
 *    ends there (build.py links it so), and main() re-executes itself once
 *    with ADDR_NO_RANDOMIZE so that the kernel does not move the heap away;
 *  - exec re-executes /proc/thread-self/exe with "-r": the new image parses the
 *    file again and resumes at the next line with the turn, its
 *    incarnation, the dead set and the (inherited) sockets from argv.
 */
#include "sys.h"

#define SCN_BASE	0x200000000000UL
#define SCN_LIMIT	0x300000000000UL
#define PAGE_SIZE	4096UL

#define MAX_FILE	(256 * 1024)
#define MAX_OPS		16384
#define MAX_NAMES	1024
#define MAX_INC		1024		/* processes created by a scenario */
#define NAME_LEN	32
#define MAX_TOKENS	8
#define MARKER_FD	3
#define MAX_THREADS	32		/* threads created by a scenario */
#define THREAD_STACK	(64 * 1024)
#define NONE		0xffffffffu

enum op_code {
	OP_MMAP, OP_MUNMAP, OP_MPROTECT, OP_MADVISE, OP_MREMAP,
	OP_READ, OP_WRITE, OP_FORK, OP_EXIT, OP_MAPS, OP_THREAD, OP_EXEC, OP_BRK,
	OP_MLOCK, OP_MUNLOCK, OP_MSEAL, OP_ANON_NAME, OP_MBIND, OP_PROCESS_MADVISE,
	OP_UFFD_REGISTER, OP_UFFD_MOVE, NR_OPS
};

static const char *const op_names[NR_OPS] = {
	"mmap", "munmap", "mprotect", "madvise", "mremap",
	"read", "write", "fork", "exit", "maps", "thread", "exec", "brk",
	"mlock", "munlock", "mseal", "anon_name", "mbind", "process_madvise",
	"uffd_register", "uffd_move",
};

struct keyword {
	const char *name;
	int value;
};

static const struct keyword prots[] = {
	{ "none", PROT_NONE },
	{ "r", PROT_READ },
	{ "rw", PROT_READ | PROT_WRITE },
	{ "rx", PROT_READ | PROT_EXEC },
	{ "rwx", PROT_READ | PROT_WRITE | PROT_EXEC },
	{ 0, 0 },
};

static const struct keyword advices[] = {
	{ "dontneed", 4 },
	{ "dontfork", 10 },
	{ "dofork", 11 },
	{ "wipeonfork", 18 },
	{ "keeponfork", 19 },
	{ "pageout", 21 },
	{ "free", 8 },
	{ "cold", 20 },
	{ "populate_read", 22 },
	{ "populate_write", 23 },
	{ "guard_install", 102 },
	{ "guard_remove", 103 },
	{ "hugepage", 14 },
	{ "nohugepage", 15 },
	{ "collapse", 25 },
	{ 0, 0 },
};

/* mbind modes; every mode but default binds to node 0, the only one */
static const struct keyword policies[] = {
	{ "default", 0 },
	{ "preferred", 1 },
	{ "bind", 2 },
	{ "interleave", 3 },
	{ 0, 0 },
};

static const struct keyword errnos[] = {
	{ "EPERM", 1 }, { "ENOENT", 2 }, { "ESRCH", 3 }, { "EINTR", 4 },
	{ "EIO", 5 }, { "ENXIO", 6 }, { "E2BIG", 7 }, { "EBADF", 9 },
	{ "ECHILD", 10 }, { "EAGAIN", 11 }, { "ENOMEM", 12 }, { "EACCES", 13 },
	{ "EFAULT", 14 }, { "EBUSY", 16 }, { "EEXIST", 17 }, { "ENODEV", 19 },
	{ "EINVAL", 22 }, { "ENFILE", 23 }, { "EMFILE", 24 }, { "EFBIG", 27 },
	{ "ENOSPC", 28 }, { "ERANGE", 34 }, { "ENOSYS", 38 },
	{ "EOVERFLOW", 75 }, { "EOPNOTSUPP", 95 }, { "EHWPOISON", 133 },
	{ 0, 0 },
};

struct op {
	u8 code;
	u8 implicit;		/* an exit added after the last line */
	u16 arg;		/* prot, advice, mremap flags; exit: 1 for 'thread' */
	u32 flags;		/* mmap: MAP_FIXED, MAP_FIXED_NOREPLACE, MAP_NORESERVE */
	const char *name;	/* anon_name: the name, or 0 */
	u32 lineno;
	u32 inc;		/* process (incarnation) that runs the line */
	u32 child;		/* fork, thread: the incarnation it creates;
				   process_madvise: the target's */
	u64 num[4];		/* page numbers and counts, in file order */
};

/*
 * The turn, passed from process to process.  It carries the set of
 * processes that died by a signal or were never born (failed fork): that
 * is only known at run time, and every process needs it to skip their lines.
 */
struct token {
	u32 line;
	u8 dead[MAX_INC / 8];
	s32 tgid[MAX_INC];	/* a process's pid, by its first incarnation */
};

struct interp {
	const char *file;
	int traced;
	u32 nops;
	u32 nnames;
	u32 ninc;
	u32 self;		/* incarnation of this process */
	u32 cur;		/* line being executed, for the signal handler */
	struct token tok;
	u32 nthreads;
	int uffd;		/* this process's userfaultfd, or -1 */
	u32 name_inc[MAX_NAMES];	/* live incarnation of a name, or NONE */
	u32 inc_name[MAX_INC];
	u32 inc_group[MAX_INC];		/* the first incarnation of its process */
	u32 inc_stack[MAX_INC];		/* a thread's slice of thread_stack */
	u32 inc_birth[MAX_INC];		/* the line that creates it (P0: 0) */
	int sock[MAX_INC][2];
	char names[MAX_NAMES][NAME_LEN];
	struct op ops[MAX_OPS];
	char thread_stack[MAX_THREADS][THREAD_STACK] __attribute__((aligned(16)));
};

void *memset(void *dst, int c, u64 n)
{
	char *d = dst;

	while (n--)
		*d++ = (char)c;
	return dst;
}

void *memcpy(void *dst, const void *src, u64 n)
{
	char *d = dst;
	const char *s = src;

	while (n--)
		*d++ = *s++;
	return dst;
}

static u64 str_len(const char *s)
{
	u64 n = 0;

	while (s[n])
		n++;
	return n;
}

static int str_eq(const char *a, const char *b)
{
	while (*a && *a == *b) {
		a++;
		b++;
	}
	return *a == *b;
}

static int lookup(const struct keyword *kw, const char *name)
{
	for (; kw->name; kw++)
		if (str_eq(kw->name, name))
			return kw->value;
	return -1;
}

/* ---- output: every line is built on the stack and written at once ---- */

struct line {
	u32 len;
	char buf[512];
};

static void put_str(struct line *l, const char *s)
{
	while (*s && l->len < sizeof(l->buf) - 1)
		l->buf[l->len++] = *s++;
}

static void put_num(struct line *l, u64 v, u32 base)
{
	char tmp[24];
	int n = 0;

	do {
		u32 d = (u32)(v % base);

		tmp[n++] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
		v /= base;
	} while (v);
	while (n && l->len < sizeof(l->buf) - 1)
		l->buf[l->len++] = tmp[--n];
}

static void put_errno(struct line *l, s64 err)
{
	const struct keyword *kw;

	for (kw = errnos; kw->name; kw++) {
		if (kw->value == err) {
			put_str(l, kw->name);
			return;
		}
	}
	put_str(l, "E");
	put_num(l, (u64)err, 10);
}

static void emit(int fd, struct line *l)
{
	l->buf[l->len++] = '\n';
	syscall3(__NR_write, fd, l->buf, l->len);
}

static struct interp *state(void);

/*
 * An internal error.  The other processes of the scenario would wait for
 * their turn forever, so under the harness (which gave us a process group
 * of our own) the whole group goes.
 */
static __attribute__((noreturn)) void die(const char *what, s64 err)
{
	struct interp *in = state();
	struct line l = { 0 };

	put_str(&l, "interp: ");
	put_str(&l, what);
	if (err) {
		put_str(&l, ": ");
		put_errno(&l, -err);
	}
	emit(2, &l);
	if (in && in->traced)
		syscall2(__NR_kill, 0, SIGKILL);
	sys_exit_group(3);
}

static const char *proc_name(struct interp *in, u32 inc)
{
	return in->names[in->inc_name[inc]];
}

/* "NAME !OP WHAT": a failed syscall, a fatal signal, or a dead process. */
static void report(struct interp *in, u32 i, const char *what, s64 err)
{
	struct line l = { 0 };

	put_str(&l, proc_name(in, in->ops[i].inc));
	put_str(&l, " !");
	put_str(&l, op_names[in->ops[i].code]);
	put_str(&l, " ");
	if (what)
		put_str(&l, what);
	else
		put_errno(&l, -err);
	emit(1, &l);
}

/* ---- parsing ---------------------------------------------------------- */

static __attribute__((noreturn)) void syntax(struct interp *in, u32 lineno,
					     const char *msg, const char *tok)
{
	struct line l = { 0 };

	put_str(&l, in->file);
	put_str(&l, ":");
	put_num(&l, lineno, 10);
	put_str(&l, ": error: ");
	put_str(&l, msg);
	if (tok) {
		put_str(&l, " '");
		put_str(&l, tok);
		put_str(&l, "'");
	}
	emit(2, &l);
	sys_exit_group(2);
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* A page number or count: decimal or 0x hex, 0 <= N < 2^32. */
static u64 parse_num(struct interp *in, u32 lineno, const char *s)
{
	u32 base = 10;
	const char *p = s;
	u64 v = 0;

	if (p[0] == '0' && p[1] == 'x') {
		base = 16;
		p += 2;
	}
	if (!*p)
		syntax(in, lineno, "bad number", s);
	for (; *p; p++) {
		int d = hex_digit(*p);

		if (d < 0 || (u32)d >= base)
			syntax(in, lineno, "bad number", s);
		v = v * base + (u32)d;
		if (v >> 32)
			syntax(in, lineno, "page number out of range (0 <= N < 2^32)", s);
	}
	return v;
}

static int is_ident(const char *s)
{
	int first = 1;

	for (; *s; s++, first = 0) {
		char c = *s;

		if (c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
			continue;
		if (!first && c >= '0' && c <= '9')
			continue;
		return 0;
	}
	return !first;
}

static u32 find_name(struct interp *in, const char *s)
{
	u32 n;

	for (n = 0; n < in->nnames; n++)
		if (str_eq(in->names[n], s))
			return n;
	return NONE;
}

static u32 add_name(struct interp *in, u32 lineno, const char *s)
{
	u32 n = find_name(in, s);

	if (n != NONE)
		return n;
	if (!is_ident(s))
		syntax(in, lineno, "bad process name", s);
	if (str_len(s) >= NAME_LEN)
		syntax(in, lineno, "process name too long", s);
	if (in->nnames == MAX_NAMES)
		syntax(in, lineno, "too many process names", s);
	n = in->nnames++;
	memcpy(in->names[n], s, str_len(s) + 1);
	in->name_inc[n] = NONE;
	return n;
}

static u32 new_inc(struct interp *in, u32 lineno, u32 name)
{
	if (in->ninc == MAX_INC)
		syntax(in, lineno, "too many processes", 0);
	in->inc_name[in->ninc] = name;
	in->inc_group[in->ninc] = in->ninc;
	in->name_inc[name] = in->ninc;
	return in->ninc++;
}

static struct op *new_op(struct interp *in, u32 lineno)
{
	struct op *op;

	if (in->nops == MAX_OPS)
		syntax(in, lineno, "too many lines", 0);
	op = &in->ops[in->nops++];
	memset(op, 0, sizeof(*op));
	op->lineno = lineno;
	return op;
}

static int op_code(const char *s)
{
	int i;

	for (i = 0; i < NR_OPS; i++)
		if (str_eq(op_names[i], s))
			return i;
	return -1;
}

/*
 * mmap FIRST COUNT [PROT] [fixed] [noreserve], or mmap any COUNT [PROT]
 * [noreserve]: PROT before the flags, each at most once.
 */
static void parse_mmap(struct interp *in, struct op *op, u32 lineno,
		       char **tok, int ntok)
{
	int i, v, any = str_eq(tok[0], "any");

	op->arg = PROT_READ | PROT_WRITE;
	op->flags = any ? 0 : MAP_FIXED_NOREPLACE;
	for (i = 2; i < ntok; i++) {
		v = lookup(prots, tok[i]);
		if (v >= 0 && i == 2) {
			op->arg = (u16)v;
		} else if (str_eq(tok[i], "fixed") && !any &&
			   op->flags == MAP_FIXED_NOREPLACE) {
			op->flags = MAP_FIXED;
		} else if (str_eq(tok[i], "noreserve") && !(op->flags & MAP_NORESERVE)) {
			op->flags |= MAP_NORESERVE;
		} else {
			syntax(in, lineno, "unexpected mmap argument", tok[i]);
		}
	}
	op->num[0] = any ? 0 : parse_num(in, lineno, tok[0]);
	op->num[1] = parse_num(in, lineno, tok[1]);
	op->num[2] = any;
}

/* 1 to 79 of [A-Za-z0-9_.:-], as docs/scenario-format.md says */
static int valid_name(const char *s)
{
	u64 n = str_len(s);

	if (n == 0 || n > 79)
		return 0;
	for (; *s; s++) {
		char c = *s;

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == ':' || c == '-'))
			return 0;
	}
	return 1;
}

static void parse_args(struct interp *in, struct op *op, u32 lineno,
		       char **tok, int ntok)
{
	int want_min, want_max, i, v;

	switch (op->code) {
	case OP_MMAP:	want_min = 2; want_max = 5; break;
	case OP_MUNMAP:
	case OP_MUNLOCK:
	case OP_MSEAL:	want_min = 2; want_max = 2; break;
	case OP_MLOCK:
	case OP_ANON_NAME: want_min = 2; want_max = 3; break;
	case OP_MBIND:	want_min = 3; want_max = 3; break;
	case OP_PROCESS_MADVISE: want_min = 4; want_max = 4; break;
	case OP_UFFD_REGISTER: want_min = 2; want_max = 2; break;
	case OP_UFFD_MOVE: want_min = 3; want_max = 4; break;
	case OP_MPROTECT:
	case OP_MADVISE: want_min = 3; want_max = 3; break;
	case OP_MREMAP:	want_min = 3; want_max = 6; break;
	case OP_READ:
	case OP_WRITE:
	case OP_BRK:	want_min = 1; want_max = 1; break;
	case OP_FORK:
	case OP_THREAD:	want_min = 1; want_max = 1; break;
	case OP_EXIT:	want_min = 0; want_max = 1; break;
	default:	want_min = 0; want_max = 0; break;
	}
	if (ntok < want_min || ntok > want_max)
		syntax(in, lineno, "wrong number of arguments for", op_names[op->code]);

	switch (op->code) {
	case OP_MMAP:
		parse_mmap(in, op, lineno, tok, ntok);
		return;
	case OP_MPROTECT:
		op->arg = PROT_READ | PROT_WRITE;
		if (ntok == 3) {
			v = lookup(prots, tok[2]);
			if (v < 0)
				syntax(in, lineno, "unknown protection", tok[2]);
			op->arg = (u16)v;
		}
		ntok = 2;
		break;
	case OP_MADVISE:
		v = lookup(advices, tok[2]);
		if (v < 0)
			syntax(in, lineno, "unknown advice", tok[2]);
		op->arg = (u16)v;
		ntok = 2;
		break;
	case OP_PROCESS_MADVISE: {
		u32 target = find_name(in, tok[0]);

		if (target == NONE || in->name_inc[target] == NONE)
			syntax(in, lineno, "unknown or exited target process", tok[0]);
		op->child = in->name_inc[target];
		v = lookup(advices, tok[3]);
		if (v < 0)
			syntax(in, lineno, "unknown advice", tok[3]);
		op->arg = (u16)v;
		op->num[0] = parse_num(in, lineno, tok[1]);
		op->num[1] = parse_num(in, lineno, tok[2]);
		return;
	}
	case OP_MREMAP:
		if (ntok == 4 || (ntok >= 5 && !str_eq(tok[3], "to")))
			syntax(in, lineno, "expected 'to DEST' after mremap NEWCOUNT", 0);
		if (ntok == 6 && !str_eq(tok[5], "dontunmap"))
			syntax(in, lineno, "expected 'dontunmap'", tok[5]);
		if (ntok >= 5) {
			op->arg = MREMAP_MAYMOVE | MREMAP_FIXED;
			op->num[3] = parse_num(in, lineno, tok[4]);
		}
		if (ntok == 6)
			op->arg |= MREMAP_DONTUNMAP;
		ntok = 3;
		break;
	case OP_UFFD_MOVE:
		if (ntok == 4 && !str_eq(tok[3], "holes"))
			syntax(in, lineno, "expected 'holes'", tok[3]);
		op->arg = ntok == 4;	/* UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES */
		ntok = 3;
		break;
	case OP_MLOCK:
		if (ntok == 3 && !str_eq(tok[2], "onfault"))
			syntax(in, lineno, "expected 'onfault'", tok[2]);
		op->arg = ntok == 3;	/* mlock2(MLOCK_ONFAULT) */
		ntok = 2;
		break;
	case OP_ANON_NAME:
		/* the name stays in the file's buffer, which lives as long as we do */
		op->name = ntok == 3 ? tok[2] : 0;
		if (op->name && !valid_name(op->name))
			syntax(in, lineno, "bad VMA name", op->name);
		ntok = 2;
		break;
	case OP_MBIND:
		v = lookup(policies, tok[2]);
		if (v < 0)
			syntax(in, lineno, "unknown memory policy", tok[2]);
		op->arg = (u16)v;
		ntok = 2;
		break;
	case OP_FORK:
	case OP_THREAD:
		return;
	case OP_EXIT:
		if (ntok == 1 && !str_eq(tok[0], "thread"))
			syntax(in, lineno, "exit takes nothing or 'thread', not", tok[0]);
		op->arg = (u16)ntok;
		return;
	default:
		break;
	}
	for (i = 0; i < ntok; i++)
		op->num[i] = parse_num(in, lineno, tok[i]);
}

/* exit_group ends every thread of the process, exec every other one. */
static void end_threads(struct interp *in, u32 inc, int but_self)
{
	u32 n;

	for (n = 0; n < in->nnames; n++) {
		u32 x = in->name_inc[n];

		if (x != NONE && in->inc_group[x] == in->inc_group[inc] &&
		    !(but_self && x == inc))
			in->name_inc[n] = NONE;
	}
}

static void parse_line(struct interp *in, u32 lineno, char **tok, int ntok)
{
	struct op *op;
	u32 name;
	int code;

	/* set swap N: the harness runs the scenario with a swap file */
	if (str_eq(tok[0], "set") && ntok == 3 && str_eq(tok[1], "swap")) {
		if (in->nops)
			syntax(in, lineno, "set lines must come before the first operation", 0);
		parse_num(in, lineno, tok[2]);
		return;
	}
	if (str_eq(tok[0], "set") || str_eq(tok[0], "together") || str_eq(tok[0], "end"))
		syntax(in, lineno, "not supported by the live-kernel oracle (plain files only):",
		       tok[0]);
	if (ntok < 2)
		syntax(in, lineno, "expected 'PROCESS OP ARGS...'", 0);
	code = op_code(tok[1]);
	if (code < 0)
		syntax(in, lineno, "unknown op", tok[1]);
	name = find_name(in, tok[0]);
	if (name == NONE && !is_ident(tok[0]))
		syntax(in, lineno, "bad process name", tok[0]);
	if (name == NONE)
		syntax(in, lineno, "unknown process", tok[0]);
	if (in->name_inc[name] == NONE)
		syntax(in, lineno, "process has exited:", tok[0]);

	op = new_op(in, lineno);
	op->code = (u8)code;
	op->inc = in->name_inc[name];
	parse_args(in, op, lineno, tok + 2, ntok - 2);

	if (code == OP_FORK || code == OP_THREAD) {
		u32 child = add_name(in, lineno, tok[2]);

		if (in->name_inc[child] != NONE)
			syntax(in, lineno, code == OP_FORK ? "fork onto a live process"
				   : "thread onto a live process", tok[2]);
		op->child = new_inc(in, lineno, child);
		in->inc_birth[op->child] = in->nops - 1;
		if (code == OP_THREAD) {
			if (in->nthreads == MAX_THREADS)
				syntax(in, lineno, "too many threads", 0);
			in->inc_group[op->child] = in->inc_group[op->inc];
			in->inc_stack[op->child] = in->nthreads++;
		}
	} else if (code == OP_EXIT && op->arg) {
		in->name_inc[name] = NONE;
	} else if (code == OP_EXIT || code == OP_EXEC) {
		end_threads(in, op->inc, code == OP_EXEC);
		/* the incarnations that exist when exec kills the other threads */
		op->child = in->ninc;
	}
}

/* Split buf into lines and tokens in place, and build in->ops. */
static void parse(struct interp *in, char *buf, u64 len)
{
	char *tok[MAX_TOKENS];
	u32 lineno = 0;
	u64 pos = 0;
	u32 inc;

	in->nnames = 0;
	in->ninc = 0;
	in->nops = 0;
	in->nthreads = 0;
	new_inc(in, 0, add_name(in, 0, "P0"));

	while (pos < len) {
		int ntok = 0;

		lineno++;
		for (;;) {
			char c;

			while (pos < len && (buf[pos] == ' ' || buf[pos] == '\t' ||
					     buf[pos] == '\r'))
				buf[pos++] = 0;
			if (pos >= len || buf[pos] == '\n' || buf[pos] == '#')
				break;
			if (ntok == MAX_TOKENS)
				syntax(in, lineno, "too many tokens", 0);
			tok[ntok++] = &buf[pos];
			while (pos < len && (c = buf[pos]) != ' ' && c != '\t' &&
			       c != '\r' && c != '\n' && c != '#')
				pos++;
		}
		while (pos < len && buf[pos] != '\n')
			buf[pos++] = 0;
		if (pos < len)
			buf[pos++] = 0;
		if (ntok)
			parse_line(in, lineno, tok, ntok);
	}

	/* Processes still alive at the end exit youngest first. */
	for (inc = in->ninc; inc-- > 0;) {
		if (in->name_inc[in->inc_name[inc]] == inc) {
			struct op *op = new_op(in, lineno);

			op->code = OP_EXIT;
			op->implicit = 1;
			op->inc = inc;
		}
	}
}

/* An unreadable file: "FILE:0: error: MSG (ERRNO)", like the model's parser. */
static __attribute__((noreturn)) void file_error(struct interp *in, const char *msg, s64 err)
{
	struct line l = { 0 };

	put_str(&l, in->file);
	put_str(&l, ":0: error: ");
	put_str(&l, msg);
	if (err) {
		put_str(&l, " (");
		put_errno(&l, -err);
		put_str(&l, ")");
	}
	emit(2, &l);
	sys_exit_group(2);
}

/*
 * Read the whole file.  O_NONBLOCK and the S_ISREG check keep a FIFO from
 * blocking the open and a device from never ending.
 */
static u64 load(struct interp *in, char *buf)
{
	s64 fd = syscall2(__NR_open, in->file, O_RDONLY | O_NONBLOCK);
	struct k_stat st;
	u64 len = 0;
	s64 n;

	if (fd < 0)
		file_error(in, "cannot read the scenario", fd);
	n = syscall2(__NR_fstat, fd, &st);
	if (n < 0)
		file_error(in, "cannot read the scenario", n);
	if ((st.mode & S_IFMT) != S_IFREG)
		file_error(in, "cannot read the scenario: not a regular file", 0);
	while ((n = syscall3(__NR_read, fd, buf + len, MAX_FILE - len)) > 0) {
		len += (u64)n;
		if (len == MAX_FILE)
			file_error(in, "the scenario is too large", 0);
	}
	if (n < 0)
		file_error(in, "cannot read the scenario", n);
	syscall1(__NR_close, fd);
	return len;
}

/*
 * A scenario file is UTF-8 text without NUL bytes: the first offending byte
 * (or the lead byte of a bad sequence) names its line.  Well-formed UTF-8 as
 * in Unicode's table 3-7: no overlong forms, no surrogates, nothing above
 * U+10FFFF.
 */
static void check_text(struct interp *in, const u8 *s, u64 len)
{
	const char *bad = "not valid UTF-8: a scenario file is UTF-8 text";
	u32 lineno = 1;
	u64 i = 0, k, n;
	u8 lo, hi;

	while (i < len) {
		u8 c = s[i];

		if (c == '\n')
			lineno++;
		if (c == 0)
			syntax(in, lineno, "NUL byte: a scenario file is UTF-8 text", 0);
		if (c < 0x80) {
			i++;
			continue;
		}
		/* the range of the first continuation byte depends on the lead */
		lo = 0x80;
		hi = 0xbf;
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			lo = c == 0xe0 ? 0xa0 : 0x80;
			hi = c == 0xed ? 0x9f : 0xbf;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			lo = c == 0xf0 ? 0x90 : 0x80;
			hi = c == 0xf4 ? 0x8f : 0xbf;
		} else {
			syntax(in, lineno, bad, 0);
		}
		for (k = 1; k <= n; k++) {
			if (i + k >= len || s[i + k] < lo || s[i + k] > hi)
				syntax(in, lineno, bad, 0);
			lo = 0x80;
			hi = 0xbf;
		}
		i += n + 1;
	}
}

/* ---- passing the turn ------------------------------------------------- */

static int is_dead(struct interp *in, u32 inc)
{
	return in->tok.dead[inc / 8] & (1u << (inc % 8));
}

static void mark_dead(struct interp *in, u32 inc)
{
	in->tok.dead[inc / 8] |= (u8)(1u << (inc % 8));
}

/*
 * Skip (and report) the lines of processes that are dead or never born.  A
 * fork by a dead process never happens, so its child is never born either.
 */
static u32 next_line(struct interp *in, u32 i)
{
	while (i < in->nops && is_dead(in, in->ops[i].inc)) {
		if (in->ops[i].code == OP_FORK || in->ops[i].code == OP_THREAD)
			mark_dead(in, in->ops[i].child);
		if (!in->ops[i].implicit)
			report(in, i, "ESRCH", 0);
		i++;
	}
	return i;
}

/* Give line i to its process; pidfd (or -1) is the sender's, if it exits. */
static void hand_on(struct interp *in, u32 i, int pidfd)
{
	struct iovec iov = { &in->tok, sizeof(in->tok) };
	struct cmsg_fd cm = { { sizeof(struct cmsghdr) + sizeof(int), SOL_SOCKET, SCM_RIGHTS },
			      pidfd, 0 };
	struct msghdr msg = { 0 };
	s64 ret;

	in->tok.line = i;
	msg.iov = &iov;
	msg.iovlen = 1;
	if (pidfd >= 0) {
		msg.control = &cm;
		msg.controllen = sizeof(cm);
	}
	ret = syscall3(__NR_sendmsg, in->sock[in->ops[i].inc][0], &msg, 0);
	if (ret < 0)
		die("sendmsg", ret);
}

/* Wait until the previous process's exit (if any) is torn down. */
static void wait_exited(int pidfd)
{
	struct pollfd pfd = { pidfd, POLLIN, 0 };
	s64 ret;

	do
		ret = syscall3(__NR_poll, &pfd, 1, -1);
	while (ret == -EINTR || (ret >= 0 && !(pfd.revents & POLLIN)));
	if (ret < 0)
		die("poll pidfd", ret);
	syscall1(__NR_close, pidfd);
}

/* Wait for the turn on incarnation me's socket. */
static u32 wait_turn(struct interp *in, u32 me)
{
	struct iovec iov = { &in->tok, sizeof(in->tok) };
	struct cmsg_fd cm = { { 0, 0, 0 }, -1, 0 };
	struct msghdr msg = { 0 };
	s64 ret;

	msg.iov = &iov;
	msg.iovlen = 1;
	msg.control = &cm;
	msg.controllen = sizeof(cm);
	do
		ret = syscall3(__NR_recvmsg, in->sock[me][1], &msg, 0);
	while (ret == -EINTR);
	if (ret != sizeof(in->tok))
		die("recvmsg", ret < 0 ? ret : 0);
	if (msg.controllen >= sizeof(struct cmsghdr) + sizeof(int) &&
	    cm.hdr.level == SOL_SOCKET && cm.hdr.type == SCM_RIGHTS)
		wait_exited(cm.fd);
	/* The threads of a process share in: it is the receiver's now. */
	in->self = me;
	return in->tok.line;
}

/* The threads of inc's process created before incarnation limit die. */
static void mark_group_dead(struct interp *in, u32 inc, u32 limit, int but_self)
{
	u32 x;

	for (x = 0; x < limit; x++)
		if (in->inc_group[x] == in->inc_group[inc] && !(but_self && x == inc))
			mark_dead(in, x);
}

/* Does a thread of inc's process other than inc live at line i? */
static int other_threads(struct interp *in, u32 inc, u32 i)
{
	u32 x;

	for (x = 0; x < in->ninc; x++)
		if (x != inc && in->inc_group[x] == in->inc_group[inc] &&
		    in->inc_birth[x] < i && !is_dead(in, x))
			return 1;
	return 0;
}

/*
 * This process (or, for 'exit thread', this thread) is done: pass the turn
 * on with a pidfd of ourselves, which becomes readable once the process's
 * last thread has gone through exit_mm().  A thread that leaves others
 * behind tears nothing down, so nobody waits for it (a pidfd of a group
 * leader would not become readable before the whole group is gone).
 */
static __attribute__((noreturn)) void leave(struct interp *in, u32 next, int thread)
{
	int last = !thread || !other_threads(in, in->self, next);
	s64 pidfd = -1;

	if (thread)
		mark_dead(in, in->self);
	else
		mark_group_dead(in, in->self, in->ninc, 0);
	next = next_line(in, next);
	if (next < in->nops) {
		if (last) {
			pidfd = syscall2(__NR_pidfd_open, syscall0(__NR_getpid), 0);
			if (pidfd < 0)
				die("pidfd_open", pidfd);
		}
		hand_on(in, next, (int)pidfd);
	}
	if (thread)
		for (;;)
			syscall1(__NR_exit, 0);
	sys_exit_group(0);
}

/* ---- the operations --------------------------------------------------- */

static void *page_addr(u64 page)
{
	return (void *)(SCN_BASE + page * PAGE_SIZE);
}

static int hex_prefix(const char *s, u64 *v, char end)
{
	int n = 0, d;

	*v = 0;
	for (; *s != end; s++, n++) {
		d = hex_digit(*s);
		if (d < 0)
			return -1;
		*v = *v * 16 + (u32)d;
	}
	return n;
}

/* One /proc/self/maps line: print it if it starts in the scenario range. */
static void maps_line(struct interp *in, char *s, u64 len)
{
	struct line l = { 0 };
	u64 start, end, i;
	int n, m;

	n = hex_prefix(s, &start, '-');
	if (n <= 0 || start < SCN_BASE || start >= SCN_LIMIT)
		return;
	m = hex_prefix(s + n + 1, &end, ' ');
	if (m <= 0 || (u64)(n + 1 + m + 5) > len)
		return;
	put_str(&l, proc_name(in, in->self));
	put_str(&l, " maps ");
	for (i = 0; i < (u64)(n + 1 + m + 5); i++)
		l.buf[l.len++] = s[i];
	emit(1, &l);
}

/*
 * Read /proc/thread-self/maps (a thread group leader that has exited has no
 * mm to show) from inside the process: reading another process's
 * maps could make the reader run that process's exit_mmap() (pitfall 5).
 */
static void do_maps(struct interp *in, u32 i)
{
	char buf[8192];
	u64 have = 0, start, pos;
	s64 fd, n;

	fd = syscall2(__NR_open, "/proc/thread-self/maps", O_RDONLY);
	if (fd < 0) {
		report(in, i, 0, fd);
		return;
	}
	while ((n = syscall3(__NR_read, fd, buf + have, sizeof(buf) - have)) > 0) {
		have += (u64)n;
		for (start = pos = 0; pos < have; pos++) {
			if (buf[pos] != '\n')
				continue;
			maps_line(in, buf + start, pos - start);
			start = pos + 1;
		}
		/* A line longer than the buffer has a path: not ours. */
		if (start == 0 && have == sizeof(buf))
			start = have;
		memcpy(buf, buf + start, have - start);
		have -= start;
	}
	syscall1(__NR_close, fd);
}

static void announce(struct interp *in, s64 pid, u32 inc)
{
	struct line l = { 0 };

	if (!in->traced)
		return;
	put_str(&l, "@pid ");
	put_num(&l, (u64)pid, 10);
	put_str(&l, " ");
	/* A thread's events carry its process's name (see docs). */
	put_str(&l, proc_name(in, in->inc_group[inc]));
	/*
	 * No newline: one write() is one trace record.  The harness keeps only
	 * the events of announced pids, so a lost announcement is fatal.
	 */
	if (syscall3(__NR_write, MARKER_FD, l.buf, l.len) != (s64)l.len)
		die("cannot write to the trace marker (fd 3)", 0);
}

/*
 * process_madvise() of one range of the target's process, through a pidfd
 * of its thread group (its tgid: a thread's process, whoever leads it now).
 */
static s64 do_process_madvise(struct interp *in, struct op *op, void *addr, u64 len)
{
	s32 tgid = in->tok.tgid[in->inc_group[op->child]];
	struct iovec iov = { addr, len };
	s64 pidfd, ret;

	if (!tgid)		/* its fork failed: it never was */
		return -ESRCH;
	pidfd = syscall2(__NR_pidfd_open, tgid, 0);
	if (pidfd < 0)
		return pidfd;
	ret = syscall5(__NR_process_madvise, pidfd, &iov, 1, op->arg, 0);
	syscall1(__NR_close, pidfd);
	return ret < 0 ? ret : 0;
}

/*
 * The process's userfaultfd, opened with the UFFDIO_API handshake at its
 * first uffd line, with UFFD_FEATURE_SIGBUS: nobody would ever resolve a
 * missing-page fault, so it is SIGBUS instead of a wait; then
 * UFFDIO_REGISTER (missing mode) or UFFDIO_MOVE.  A move of part of the
 * range is EAGAIN, as the ioctl says.
 */
static s64 do_userfaultfd(struct interp *in, struct op *op, void *addr, u64 len)
{
	struct { u64 api, features, ioctls; } api = { UFFD_API, UFFD_FEATURE_SIGBUS, 0 };
	struct { u64 start, len, mode, ioctls; } reg = {
		(u64)addr, len, UFFDIO_REGISTER_MODE_MISSING, 0 };
	struct { u64 dst, src, len, mode; s64 move; } mv = {
		(u64)page_addr(op->num[2]), (u64)addr, len,
		op->arg ? UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES : 0, 0 };
	s64 ret;

	if (in->uffd < 0) {
		ret = syscall1(__NR_userfaultfd, O_CLOEXEC);
		if (ret < 0)
			die("userfaultfd", ret);
		in->uffd = (int)ret;
		ret = syscall3(__NR_ioctl, in->uffd, UFFDIO_API, &api);
		if (ret < 0)
			die("UFFDIO_API", ret);
	}
	if (op->code == OP_UFFD_REGISTER)
		return syscall3(__NR_ioctl, in->uffd, UFFDIO_REGISTER, &reg);
	return syscall3(__NR_ioctl, in->uffd, UFFDIO_MOVE, &mv);
}

static s64 do_syscall(struct interp *in, struct op *op)
{
	u64 len = op->num[1] * PAGE_SIZE;
	void *addr = page_addr(op->num[0]);
	s64 ret;

	switch (op->code) {
	case OP_MMAP:
		/* mmap any: a hint at the top of the scenario range */
		if (op->num[2])
			addr = (void *)(SCN_LIMIT - len);
		ret = syscall6(__NR_mmap, (s64)addr, (s64)len, op->arg,
			       MAP_PRIVATE | MAP_ANONYMOUS | op->flags, -1, 0);
		return ret < 0 && ret > -4096 ? ret : 0;
	case OP_MUNMAP:
		return syscall2(__NR_munmap, addr, len);
	case OP_MPROTECT:
		return syscall3(__NR_mprotect, addr, len, op->arg);
	case OP_MADVISE:
		return syscall3(__NR_madvise, addr, len, op->arg);
	case OP_MLOCK:
		if (op->arg)
			return syscall3(__NR_mlock2, addr, len, MLOCK_ONFAULT);
		return syscall2(__NR_mlock, addr, len);
	case OP_MUNLOCK:
		return syscall2(__NR_munlock, addr, len);
	case OP_MSEAL:
		return syscall3(__NR_mseal, addr, len, 0);
	case OP_ANON_NAME:
		return syscall5(__NR_prctl, PR_SET_VMA, PR_SET_VMA_ANON_NAME, addr, len, op->name);
	case OP_PROCESS_MADVISE:
		return do_process_madvise(in, op, addr, len);
	case OP_UFFD_REGISTER:
	case OP_UFFD_MOVE:
		return do_userfaultfd(in, op, addr, len);
	case OP_MBIND: {
		u64 node0 = 1;

		return syscall6(__NR_mbind, (s64)addr, (s64)len, op->arg,
				op->arg ? (s64)&node0 : 0, op->arg ? 64 : 0, 0);
	}
	case OP_BRK:
		/* sbrk()'s rule: a break that did not move is ENOMEM */
		ret = syscall1(__NR_brk, addr);
		return ret == (s64)addr ? 0 : -ENOMEM;
	case OP_MREMAP:
		ret = syscall5(__NR_mremap, addr, len, op->num[2] * PAGE_SIZE, op->arg,
			       page_addr(op->num[3]));
		return ret < 0 && ret > -4096 ? ret : 0;
	}
	return 0;
}

static __attribute__((noreturn)) void run(struct interp *in, u32 i);
void anonvma_thread_start(struct interp *in, u64 inc);

/* A new thread starts here, on its slice of the main stack. */
__attribute__((noreturn, used)) void anonvma_thread_start(struct interp *in, u64 inc)
{
	run(in, wait_turn(in, (u32)inc));
}

/* clone() a thread of this process, as pthread_create() would; its tid or -errno. */
static s64 clone_thread(struct interp *in, u32 inc)
{
	char *top = in->thread_stack[in->inc_stack[inc]] + THREAD_STACK;
	register s64 r10 __asm__("r10") = 0;
	register s64 r8 __asm__("r8") = (s64)inc;	/* tls: unused without CLONE_SETTLS */
	register s64 r9 __asm__("r9") = (s64)in;
	s64 ret;

	/* The child returns from the syscall on its new stack: it must not
	 * return into C code, so it calls the thread function from here. */
	__asm__ volatile("syscall\n\t"
			 "test %%rax, %%rax\n\t"
			 "jnz 1f\n\t"
			 "xor %%ebp, %%ebp\n\t"
			 "mov %%r9, %%rdi\n\t"
			 "mov %%r8, %%rsi\n\t"
			 "call anonvma_thread_start\n\t"
			 "hlt\n"
			 "1:"
			 : "=a"(ret)
			 : "a"(__NR_clone), "D"(CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND |
					       CLONE_THREAD | CLONE_SYSVSEM),
			   "S"(top), "d"(0), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}

static void arg_num(struct line *l, u64 v)
{
	put_num(l, v, 10);
	l->buf[l->len] = 0;
}

/*
 * exec: run ourselves again.  The other threads die in the kernel's
 * de_thread(); the new image resumes at line i + 1 (see resume()).
 */
static void do_exec(struct interp *in, u32 i)
{
	struct line line = { 0 }, self = { 0 };
	struct { u32 len; char buf[MAX_INC * 2 * 11]; } fds;
	struct { u32 len; char buf[sizeof(struct token) * 2 + 1]; } tok = { 0 };
	const u8 *raw = (const u8 *)&in->tok;
	char *argv[9], *envp[1] = { 0 };
	u32 n;
	s64 ret;

	mark_group_dead(in, in->self, in->ops[i].child, 1);
	arg_num(&line, i + 1);
	arg_num(&self, in->self);
	fds.len = 0;
	for (n = 0; n < 2 * in->ninc; n++) {
		struct line fd = { 0 };

		put_num(&fd, (u64)in->sock[n / 2][n % 2], 10);
		fd.buf[fd.len++] = ',';
		memcpy(fds.buf + fds.len, fd.buf, fd.len);
		fds.len += fd.len;
	}
	fds.buf[fds.len] = 0;
	for (n = 0; n < sizeof(in->tok); n++) {
		tok.buf[tok.len++] = "0123456789abcdef"[raw[n] >> 4];
		tok.buf[tok.len++] = "0123456789abcdef"[raw[n] & 15];
	}
	argv[0] = (char *)"/proc/thread-self/exe";
	argv[1] = (char *)"-r";
	argv[2] = (char *)(in->traced ? "1" : "0");
	argv[3] = line.buf;
	argv[4] = self.buf;
	argv[5] = fds.buf;
	argv[6] = tok.buf;
	argv[7] = (char *)in->file;
	argv[8] = 0;
	ret = syscall3(__NR_execve, argv[0], argv, envp);
	report(in, i, 0, ret);
}

/* Execute line i; returns the next line this process should look at. */
static u32 step(struct interp *in, u32 i)
{
	struct op *op = &in->ops[i];
	volatile u8 *p = page_addr(op->num[0]);
	s64 ret;

	in->cur = i;
	__asm__ volatile("" ::: "memory");	/* cur is set before a fault */
	switch (op->code) {
	case OP_READ:
		(void)*p;
		break;
	case OP_WRITE:
		*p = 1;
		break;
	case OP_MAPS:
		do_maps(in, i);
		break;
	case OP_EXIT:
		leave(in, i + 1, op->arg);
	case OP_EXEC:
		do_exec(in, i);
		break;
	case OP_THREAD:
		ret = clone_thread(in, op->child);
		if (ret < 0) {
			report(in, i, 0, ret);
			mark_dead(in, op->child);
		} else {
			announce(in, ret, op->child);
		}
		break;
	case OP_FORK:
		ret = syscall0(__NR_fork);
		if (ret == 0) {
			/* the parent's userfaultfd is not the child's */
			if (in->uffd >= 0)
				syscall1(__NR_close, in->uffd);
			in->uffd = -1;
			return wait_turn(in, op->child);
		}
		if (ret < 0) {
			report(in, i, 0, ret);
			mark_dead(in, op->child);
		} else {
			in->tok.tgid[op->child] = (s32)ret;
			announce(in, ret, op->child);
		}
		break;
	default:
		ret = do_syscall(in, op);
		if (ret < 0)
			report(in, i, 0, ret);
		break;
	}
	return i + 1;
}

static __attribute__((noreturn)) void run(struct interp *in, u32 i)
{
	for (;;) {
		/* We hold the turn and are alive, so our exit lies ahead. */
		i = next_line(in, i);
		if (in->ops[i].inc != in->self) {
			u32 me = in->self;

			hand_on(in, i, -1);
			i = wait_turn(in, me);
			continue;
		}
		i = step(in, i);
	}
}

/* ---- signals and setup ------------------------------------------------ */

/* Our state, or NULL before setup(): the FS base starts out as 0. */
static struct interp *state(void)
{
	struct interp *in = 0;

	syscall2(__NR_arch_prctl, ARCH_GET_FS, &in);
	return in;
}

static void on_fatal_signal(int sig, void *info, void *uctx)
{
	struct interp *in = state();

	(void)info;
	(void)uctx;
	report(in, in->cur, sig == SIGSEGV ? "SIGSEGV" : "SIGBUS", 0);
	leave(in, in->cur + 1, 0);
}

void anonvma_restorer(void);
#define __str(x) #x
#define str(x) __str(x)

/* x86-64 signal frames need a restorer, even though our handler never returns. */
__asm__(".text\n"
	".global anonvma_restorer\n"
	"anonvma_restorer:\n"
	"	mov $" str(__NR_rt_sigreturn) ", %eax\n"
	"	syscall\n"
	"	hlt\n");

/* The sockets, created before anything else. */
static void setup_sockets(struct interp *in)
{
	s64 ret;
	u32 inc;

	for (inc = 0; inc < in->ninc; inc++) {
		ret = syscall4(__NR_socketpair, AF_UNIX, SOCK_DGRAM, 0, in->sock[inc]);
		if (ret < 0)
			die("socketpair (too many processes for RLIMIT_NOFILE?)", ret);
	}
	memset(&in->tok, 0, sizeof(in->tok));
	in->tok.tgid[0] = (s32)syscall0(__NR_getpid);
	in->self = 0;
}

static void setup(struct interp *in)
{
	struct k_sigaction sa = { (void *)on_fatal_signal, SA_SIGINFO | SA_RESTORER,
				  (void *)anonvma_restorer, 0 };
	s64 ret;

	if (syscall4(__NR_rt_sigaction, SIGSEGV, &sa, 0, 8) < 0 ||
	    syscall4(__NR_rt_sigaction, SIGBUS, &sa, 0, 8) < 0)
		die("rt_sigaction", 0);
	ret = syscall2(__NR_arch_prctl, ARCH_SET_FS, in);
	if (ret < 0)
		die("arch_prctl", ret);
	in->uffd = -1;		/* none yet, or closed by exec (O_CLOEXEC) */
}

static u64 arg_dec(const char *s)
{
	u64 v = 0;

	for (; *s >= '0' && *s <= '9'; s++)
		v = v * 10 + (u64)(*s - '0');
	return v;
}

/*
 * After an exec: interp -r TRACED LINE SELF SOCKETS TOKEN FILE, SOCKETS the
 * inherited descriptors as "a,b,c,...", TOKEN the turn's token in hex.
 * We hold the turn; the other
 * threads are gone and the old mm is torn down.
 */
static __attribute__((noreturn)) void resume(struct interp *in, char *buf, char **argv)
{
	const char *fds = argv[5];
	u32 inc, n;

	in->traced = argv[2][0] == '1';
	in->file = argv[7];
	parse(in, buf, load(in, buf));
	for (inc = 0; inc < in->ninc; inc++) {
		for (n = 0; n < 2; n++) {
			in->sock[inc][n] = (int)arg_dec(fds);
			while (*fds && *fds++ != ',')
				;
		}
	}
	for (n = 0; n < sizeof(in->tok); n++)
		((u8 *)&in->tok)[n] = (u8)(hex_digit(argv[6][2 * n]) << 4 |
					   hex_digit(argv[6][2 * n + 1]));
	in->self = (u32)arg_dec(argv[4]);
	setup(in);
	run(in, (u32)arg_dec(argv[3]));
}

/* Where the heap begins: the kernel starts brk at the end of this segment. */
__attribute__((section(".heapmark"), aligned(4096), used))
const char heap_mark[PAGE_SIZE] = { 1 };

static __attribute__((noreturn)) void usage(void)
{
	struct line l = { 0 };

	put_str(&l, "usage: interp [-c|-t] FILE");
	emit(2, &l);
	sys_exit_group(2);
}

int main(int argc, char **argv)
{
	struct interp in;
	char buf[MAX_FILE];
	int check = 0;
	u64 len;

	in.traced = 0;
	if (argc != 3 || !str_eq(argv[1], "-c")) {
		s64 persona = syscall1(__NR_personality, 0xffffffff);

		if (persona >= 0 && !(persona & ADDR_NO_RANDOMIZE)) {
			char *envp[1] = { 0 };

			syscall1(__NR_personality, persona | ADDR_NO_RANDOMIZE);
			syscall3(__NR_execve, "/proc/self/exe", argv, envp);
			die("cannot re-execute without address randomisation", 0);
		}
	}
	if (argc == 8 && str_eq(argv[1], "-r"))
		resume(&in, buf, argv);
	if (argc == 3 && str_eq(argv[1], "-c"))
		check = 1;
	else if (argc == 3 && str_eq(argv[1], "-t"))
		in.traced = 1;
	else if (argc != 2)
		usage();
	in.file = argv[argc - 1];
	len = load(&in, buf);
	check_text(&in, (const u8 *)buf, len);
	parse(&in, buf, len);
	if (check)
		return 0;
	setup_sockets(&in);
	setup(&in);
	if (in.traced) {
		/* The harness arms tracing on our pid while we are stopped. */
		syscall2(__NR_kill, syscall0(__NR_getpid), SIGSTOP);
		announce(&in, syscall0(__NR_getpid), 0);
	}
	run(&in, 0);
}

__asm__(".text\n"
	".global _start\n"
	"_start:\n"
	"	xor %rbp, %rbp\n"
	"	mov (%rsp), %rdi\n"
	"	lea 8(%rsp), %rsi\n"
	"	and $-16, %rsp\n"
	"	call main\n"
	"	mov %eax, %edi\n"
	"	mov $" str(__NR_exit_group) ", %eax\n"
	"	syscall\n"
	"	hlt\n");
