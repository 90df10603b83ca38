#define _GNU_SOURCE
#include "CShims.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <locale.h>
#include <wchar.h>
#include <malloc.h>
#include <poll.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t sigint_count = 0;
static volatile sig_atomic_t busy_flag = 0;
/* The SIGINT handler also writes a byte here, so that a reader waiting for a
   key wakes up even when the signal arrived just before it started waiting. */
static int sigint_pipe[2] = { -1, -1 };

static void drain_sigint_pipe(void) {
  char sink[64];
  if (sigint_pipe[0] >= 0) while (read(sigint_pipe[0], sink, sizeof sink) > 0) {}
}

/* Reads one character for libedit. Unlike libedit's own reader it gives up
   when SIGINT interrupts the read, so that el_gets returns and the REPL can
   throw the half-typed line away; other signals (SIGWINCH…) just retry. */
static int riad_getc(EditLine *el, wchar_t *wc) {
  (void)el;
  char bytes[MB_LEN_MAX];
  size_t length = 0;
  for (;;) {
    if (sigint_count > 0) return -1;
    if (sigint_pipe[0] >= 0) {
      struct pollfd fds[2] = { { STDIN_FILENO, POLLIN, 0 }, { sigint_pipe[0], POLLIN, 0 } };
      if (poll(fds, 2, -1) < 0) {
        if (errno == EINTR) continue;
        return -1;
      }
      if (fds[1].revents & POLLIN) return -1;
    }
    char byte;
    ssize_t n = read(STDIN_FILENO, &byte, 1);
    if (n == 0) return 0;
    if (n < 0) {
      if (errno == EINTR && sigint_count == 0) continue;
      return -1;
    }
    bytes[length++] = byte;
    mbstate_t state;
    memset(&state, 0, sizeof state);
    size_t r = mbrtowc(wc, bytes, length, &state);
    if (r == (size_t)-2 && length < MB_LEN_MAX) continue;   /* more bytes to come */
    if (r == (size_t)-1 || r == (size_t)-2) *wc = (wchar_t)(unsigned char)bytes[0];
    return 1;
  }
}

EditLine *riad_el_init(const char *prog) {
  setlocale(LC_CTYPE, "");
  EditLine *el = el_init(prog, stdin, stdout, stderr);
  if (el) el_wset(el, EL_GETCFN, riad_getc);
  return el;
}
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

static void on_sigint(int sig) {
  (void)sig;
  sigint_count += 1;
  if (sigint_pipe[1] >= 0) {
    ssize_t ignored = write(sigint_pipe[1], "!", 1);
    (void)ignored;
  }
  if (busy_flag && sigint_count >= 2) {
    static const char msg[] = "\ninterrupted twice: stopping now\n";
    ssize_t ignored = write(2, msg, sizeof msg - 1);
    (void)ignored;
    _exit(130);
  }
}

void riad_sigint_install(void) {
  if (sigint_pipe[0] < 0 && pipe(sigint_pipe) == 0) {
    fcntl(sigint_pipe[0], F_SETFL, O_NONBLOCK);
    fcntl(sigint_pipe[1], F_SETFL, O_NONBLOCK);
    fcntl(sigint_pipe[0], F_SETFD, FD_CLOEXEC);
    fcntl(sigint_pipe[1], F_SETFD, FD_CLOEXEC);
  }
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_sigint;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: a blocking read returns EINTR
  sigaction(SIGINT, &sa, NULL);
}
void riad_sigint_restore_default(void) { signal(SIGINT, SIG_DFL); }
int riad_sigint_count(void) { return sigint_count; }
void riad_sigint_clear(void) {
  drain_sigint_pipe();
  sigint_count = 0;
}
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

struct png_failure { jmp_buf jump; char *error; int error_length; };

static void png_fail(png_structp png, png_const_charp message) {
  struct png_failure *f = (struct png_failure *)png_get_error_ptr(png);
  snprintf(f->error, (size_t)f->error_length, "%s", message);
  longjmp(f->jump, 1);
}

static void png_quiet(png_structp png, png_const_charp message) { (void)png; (void)message; }

int riad_png_read16(const char *path, unsigned short **samples, int *width, int *height, int *channels,
                    char *error, int error_length) {
  struct png_failure failure = { .error = error, .error_length = error_length };
  FILE *file = fopen(path, "rb");
  if (!file) { snprintf(error, (size_t)error_length, "cannot open the file"); return 1; }
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &failure, png_fail, png_quiet);
  png_infop info = png ? png_create_info_struct(png) : NULL;
  unsigned short *volatile buffer = NULL;
  png_bytep *volatile rows = NULL;
  if (!png || !info || setjmp(failure.jump)) {
    free(buffer); free(rows);
    png_destroy_read_struct(&png, &info, NULL);
    fclose(file);
    if (!png || !info) snprintf(error, (size_t)error_length, "out of memory");
    return 1;
  }
  png_init_io(png, file);
  png_read_info(png, info);
  png_set_swap(png);  /* PNG stores big-endian samples */
  png_read_update_info(png, info);
  int w = (int)png_get_image_width(png, info), h = (int)png_get_image_height(png, info);
  int c = png_get_channels(png, info);
  if (png_get_bit_depth(png, info) != 16) { snprintf(error, (size_t)error_length, "not a 16-bit image"); longjmp(failure.jump, 1); }
  buffer = malloc((size_t)w * (size_t)h * (size_t)c * sizeof(unsigned short));
  rows = malloc((size_t)h * sizeof(png_bytep));
  if (!buffer || !rows) { snprintf(error, (size_t)error_length, "out of memory"); longjmp(failure.jump, 1); }
  for (int y = 0; y < h; y++) rows[y] = (png_bytep)(buffer + (size_t)y * (size_t)w * (size_t)c);
  png_read_image(png, rows);
  png_read_end(png, NULL);
  free(rows);
  png_destroy_read_struct(&png, &info, NULL);
  fclose(file);
  *samples = buffer; *width = w; *height = h; *channels = c;
  return 0;
}

int riad_png_write16(const char *path, const unsigned short *samples, int width, int height, int channels,
                     char *error, int error_length) {
  struct png_failure failure = { .error = error, .error_length = error_length };
  FILE *file = fopen(path, "wb");
  if (!file) { snprintf(error, (size_t)error_length, "cannot create the file"); return 1; }
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &failure, png_fail, png_quiet);
  png_infop info = png ? png_create_info_struct(png) : NULL;
  if (!png || !info || setjmp(failure.jump)) {
    png_destroy_write_struct(&png, &info);
    fclose(file);
    if (!png || !info) snprintf(error, (size_t)error_length, "out of memory");
    return 1;
  }
  int type = channels == 1 ? PNG_COLOR_TYPE_GRAY : channels == 2 ? PNG_COLOR_TYPE_GRAY_ALPHA
           : channels == 3 ? PNG_COLOR_TYPE_RGB : PNG_COLOR_TYPE_RGB_ALPHA;
  png_init_io(png, file);
  png_set_IHDR(png, info, (png_uint_32)width, (png_uint_32)height, 16, type, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  png_set_swap(png);
  for (int y = 0; y < height; y++) png_write_row(png, (png_const_bytep)(samples + (size_t)y * (size_t)width * (size_t)channels));
  png_write_end(png, NULL);
  png_destroy_write_struct(&png, &info);
  return fclose(file) == 0 ? 0 : (snprintf(error, (size_t)error_length, "cannot finish writing"), 1);
}
