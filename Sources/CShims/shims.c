#define _GNU_SOURCE
#include "CShims.h"

#include <fcntl.h>
#include <malloc.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

EditLine *riad_el_init(const char *prog) { return el_init(prog, stdin, stdout, stderr); }
void riad_el_set_prompt(EditLine *el, riad_prompt_fn fn) { el_set(el, EL_PROMPT, fn); }
void riad_el_set_editor(EditLine *el, const char *mode) { el_set(el, EL_EDITOR, mode); }
void riad_el_set_history(EditLine *el, History *h) { el_set(el, EL_HIST, history, h); }
void riad_el_add_function(EditLine *el, const char *name, const char *help, riad_command_fn fn) {
  el_set(el, EL_ADDFN, name, help, fn);
}
void riad_el_bind(EditLine *el, const char *key, const char *name) {
  el_set(el, EL_BIND, key, name, NULL);
}
void riad_el_set_signal(EditLine *el, int on) { el_set(el, EL_SIGNAL, on); }
void riad_el_source_default(EditLine *el) { el_source(el, NULL); }

History *riad_history_init(int size) {
  HistEvent ev;
  History *h = history_init();
  if (h == NULL) return NULL;
  history(h, &ev, H_SETSIZE, size);
  history(h, &ev, H_SETUNIQUE, 1);
  return h;
}
void riad_history_enter(History *h, const char *line) {
  HistEvent ev;
  history(h, &ev, H_ENTER, line);
}
int riad_history_load(History *h, const char *path) {
  HistEvent ev;
  return history(h, &ev, H_LOAD, path);
}
int riad_history_save(History *h, const char *path) {
  HistEvent ev;
  return history(h, &ev, H_SAVE, path);
}

static volatile sig_atomic_t sigint_count = 0;
static volatile sig_atomic_t busy_flag = 0;

static void on_sigint(int sig) {
  (void)sig;
  sigint_count += 1;
  if (busy_flag && sigint_count >= 2) {
    static const char msg[] = "\ninterrupted twice: stopping now\n";
    ssize_t ignored = write(2, msg, sizeof msg - 1);
    (void)ignored;
    _exit(130);
  }
}

void riad_sigint_install(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_sigint;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: a blocking read returns EINTR
  sigaction(SIGINT, &sa, NULL);
}
void riad_sigint_restore_default(void) { signal(SIGINT, SIG_DFL); }
int riad_sigint_count(void) { return sigint_count; }
void riad_sigint_clear(void) { sigint_count = 0; }
void riad_set_busy(int busy) { busy_flag = busy; }

void riad_configure_allocator(void) {
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  mallopt(M_TOP_PAD, 64 << 20);
}

int riad_open_pty(char *name, int length) {
  int fd = posix_openpt(O_RDWR | O_NOCTTY);
  if (fd < 0) return -1;
  if (grantpt(fd) != 0 || unlockpt(fd) != 0 || ptsname_r(fd, name, (size_t)length) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}
