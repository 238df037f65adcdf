/* bench/netns-lever.c - what a network namespace made ahead of time would save
 * bwrap-oci's multi-id `run` (bench/profile.sh, section 6; docs/performance.md).
 *
 *   netns-lever BLOCKS RUNS BWRAP ARGS... -- COMMAND...
 *
 * BWRAP ARGS are the bare call's options (`bwrap-oci run --dry-run`) without
 * --unshare-user, --uid and --gid. Three ways of starting bwrap run in turn,
 * in blocks of RUNS back-to-back runs, each with namespaces made before the
 * block (as the userns keeper makes them ahead of a run): a user namespace K
 * mapping 0 to the caller, U nested in K (the container's, "0 0 1"), and for
 * B and C a network namespace N owned by U.
 *
 *   A  today: bwrap --userns U --unshare-net (bwrap makes the network namespace)
 *   B  bwrap starts in K and N (setns in the child before exec) with --userns U
 *      and without --unshare-net: what `bwrap --netns FD` would do (bubblewrap
 *      pull request 766), or a runtime that may run code before bwrap's exec
 *   C  as B, but the setns and close calls are made by ptrace at bwrap's exec
 *      stop, which a Go parent can do with bwrap 0.8 (see internal/keeper)
 *
 * bwrap runs as uid 0 in K, where it would keep every capability: B and C add
 * --cap-drop ALL before the options. Started in U itself (not K), bwrap would
 * leave the bounding set full, since only its --userns and --unshare-user
 * paths drop it. A network namespace that bwrap did not make keeps its
 * loopback down (bwrap brings it up only with --unshare-net).
 *
 * With -check, one run of each prints what the container sees instead.
 * x86_64 only (the ptrace arm). Prints medians and p25 per arm in ms.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { FD_U = 3, FD_K = 5, FD_N = 6, MAXBLOCK = 256, NARMS = 3 };

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static void write_file(const char *path, const char *data)
{
	int fd = open(path, O_WRONLY);
	if (fd < 0 || write(fd, data, strlen(data)) < 0)
		die(path);
	close(fd);
}

/* holder: a process in U (nested in K), and in N when net; it waits. */
static pid_t holder(int net)
{
	int p[2];
	char c, map[64];
	if (pipe(p))
		die("pipe");
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		uid_t u = getuid();
		gid_t g = getgid();
		if (unshare(CLONE_NEWUSER))
			die("unshare K");
		write_file("/proc/self/setgroups", "deny");
		snprintf(map, sizeof map, "0 %d 1", u);
		write_file("/proc/self/uid_map", map);
		snprintf(map, sizeof map, "0 %d 1", g);
		write_file("/proc/self/gid_map", map);
		if (unshare(CLONE_NEWUSER))
			die("unshare U");
		write_file("/proc/self/uid_map", "0 0 1");
		write_file("/proc/self/setgroups", "deny");
		write_file("/proc/self/gid_map", "0 0 1");
		if (net && unshare(CLONE_NEWNET))
			die("unshare N");
		if (write(p[1], "x", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	if (read(p[0], &c, 1) != 1) {
		fprintf(stderr, "netns-lever: the holder failed\n");
		exit(1);
	}
	close(p[0]);
	close(p[1]);
	return pid;
}

static int open_ns(pid_t pid, const char *kind)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/ns/%s", pid, kind);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die(path);
	return fd;
}

/* place moves fds (closed) to the numbers to[] in a child, without CLOEXEC. */
static void place(int n, const int *fds, const int *to)
{
	int tmp[3];
	for (int i = 0; i < n; i++)
		if ((tmp[i] = fcntl(fds[i], F_DUPFD, 20)) < 0)
			die("dup");
	for (int i = 0; i < n; i++)
		if (dup2(tmp[i], to[i]) < 0)
			die("dup2");
	for (int i = 0; i < n; i++)
		close(tmp[i]);
}

/* inject makes the stopped tracee call what[i] (number, a1, a2) in turn:
 * a syscall instruction at its instruction pointer, stepped over, then the
 * text and registers restored. */
static int inject(pid_t pid, long what[][3], int n)
{
	struct user_regs_struct r0, r;
	int ws;
	if (ptrace(PTRACE_GETREGS, pid, 0, &r0))
		return -1;
	errno = 0;
	long orig = ptrace(PTRACE_PEEKTEXT, pid, (void *)r0.rip, 0);
	if (errno)
		return -1;
	if (ptrace(PTRACE_POKETEXT, pid, (void *)r0.rip, (void *)((orig & ~0xffffL) | 0x050f)))
		return -1;
	for (int i = 0; i < n; i++) {
		r = r0;
		r.rax = what[i][0];
		r.rdi = what[i][1];
		r.rsi = what[i][2];
		r.orig_rax = -1;
		if (ptrace(PTRACE_SETREGS, pid, 0, &r) || ptrace(PTRACE_SINGLESTEP, pid, 0, 0) ||
		    waitpid(pid, &ws, 0) != pid || !WIFSTOPPED(ws) || ptrace(PTRACE_GETREGS, pid, 0, &r))
			return -1;
		if ((long)r.rax != 0) {
			fprintf(stderr, "netns-lever: injected call %d: %s\n", i, strerror(-(long)r.rax));
			return -1;
		}
	}
	if (ptrace(PTRACE_POKETEXT, pid, (void *)r0.rip, (void *)orig) || ptrace(PTRACE_SETREGS, pid, 0, &r0))
		return -1;
	return ptrace(PTRACE_DETACH, pid, 0, 0);
}

/* once starts bwrap the arm's way in namespaces held by h; its run time. */
static double once(int arm, pid_t h, char **a, char **b)
{
	int fu = open_ns(h, "user"), fn = -1, fk = -1, ws;
	if (arm > 0) {
		fn = open_ns(h, "net");
		if ((fk = ioctl(fu, NS_GET_PARENT)) < 0)
			die("NS_GET_PARENT");
	}
	double t0 = now_ms();
	pid_t c = fork();
	if (c < 0)
		die("fork");
	if (c == 0) {
		if (arm == 0) {
			place(1, (int[]){fu}, (int[]){FD_U});
			execv(a[0], a);
			_exit(127);
		}
		place(3, (int[]){fu, fk, fn}, (int[]){FD_U, FD_K, FD_N});
		if (arm == 1) {
			if (setns(FD_K, CLONE_NEWUSER) || setns(FD_N, CLONE_NEWNET))
				die("setns");
			close(FD_K);
			close(FD_N);
		} else if (ptrace(PTRACE_TRACEME, 0, 0, 0)) {
			die("PTRACE_TRACEME");
		}
		execv(b[0], b);
		_exit(127);
	}
	close(fu);
	if (fn >= 0)
		close(fn);
	if (fk >= 0)
		close(fk);
	if (arm == 2) {
		long calls[][3] = {{SYS_setns, FD_K, CLONE_NEWUSER}, {SYS_setns, FD_N, CLONE_NEWNET}, {SYS_close, FD_K, 0}, {SYS_close, FD_N, 0}};
		if (waitpid(c, &ws, 0) != c || !WIFSTOPPED(ws) || inject(c, calls, 4)) {
			kill(c, SIGKILL);
			fprintf(stderr, "netns-lever: injecting into bwrap failed\n");
			exit(1);
		}
	}
	if (waitpid(c, &ws, 0) != c)
		die("waitpid");
	double d = now_ms() - t0;
	if (!WIFEXITED(ws) || WEXITSTATUS(ws) != 0) {
		fprintf(stderr, "netns-lever: arm %c: bwrap ended with status %#x\n", 'A' + arm, ws);
		exit(1);
	}
	return d;
}

static int cmp(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;
	return (a > b) - (a < b);
}

int main(int argc, char **argv)
{
	int check = argc > 1 && strcmp(argv[1], "-check") == 0;
	if (check)
		argv++, argc--;
	if (argc < 5) {
		fprintf(stderr, "usage: netns-lever [-check] BLOCKS RUNS BWRAP ARGS... -- COMMAND...\n");
		return 2;
	}
	int blocks = atoi(argv[1]), runs = atoi(argv[2]);
	if (blocks < 1 || runs < 1 || runs > MAXBLOCK)
		return 2;
	/* argument vectors: A = bwrap --userns 3 --block-fd 3 ARGS; B = the same with
	 * --cap-drop ALL, without --unshare-net */
	int n = argc - 3;
	char **a = calloc(n + 6, sizeof *a), **b = calloc(n + 8, sizeof *b);
	int ia = 0, ib = 0, opts = 1;
	a[ia++] = b[ib++] = argv[3];
	a[ia++] = b[ib++] = "--userns";
	a[ia++] = b[ib++] = "3";
	a[ia++] = b[ib++] = "--block-fd"; /* closes U's descriptor, as bwrap-oci does */
	a[ia++] = b[ib++] = "3";
	b[ib++] = "--cap-drop";
	b[ib++] = "ALL";
	for (int i = 4; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			opts = 0;
		a[ia++] = argv[i];
		if (!(opts && strcmp(argv[i], "--unshare-net") == 0))
			b[ib++] = argv[i];
	}
	if (check)
		blocks = 1, runs = 1;
	double *t[NARMS];
	int nt[NARMS] = {0};
	for (int k = 0; k < NARMS; k++)
		t[k] = calloc((size_t)blocks * runs, sizeof(double));
	for (int blk = 0; blk < blocks * NARMS; blk++) {
		int arm = blk % NARMS;
		pid_t hs[MAXBLOCK];
		for (int i = 0; i < runs; i++)
			hs[i] = holder(arm > 0);
		usleep(200000);
		for (int i = 0; i < runs; i++) {
			if (check) {
				printf("%c:\n", 'A' + arm);
				fflush(stdout);
			}
			t[arm][nt[arm]++] = once(arm, hs[i], a, b);
			kill(hs[i], SIGKILL);
			waitpid(hs[i], 0, 0);
		}
	}
	if (check)
		return 0;
	const char *names[NARMS] = {
		"A bwrap --userns U --unshare-net (today)",
		"B bwrap in K and N, --userns U (as bwrap --netns would)",
		"C as B, setns injected by ptrace at bwrap's exec",
	};
	for (int k = 0; k < NARMS; k++) {
		qsort(t[k], nt[k], sizeof(double), cmp);
		printf("| %s | %.2f | %.2f | %d |\n", names[k], t[k][nt[k] / 2], t[k][nt[k] / 4], nt[k]);
	}
	return 0;
}
