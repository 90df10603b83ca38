// CShims: fixed-arity C entry points for what Swift cannot call directly.
//
// libedit's el_set/el_get/history are variadic, and a signal handler must be
// async-signal-safe, so both live here, at the edge of the package.
#ifndef RIAD_CSHIMS_H
#define RIAD_CSHIMS_H

#include <stdio.h>
#include <histedit.h>

// MARK: - libedit

typedef char *(*riad_prompt_fn)(EditLine *);
typedef unsigned char (*riad_command_fn)(EditLine *, int);

EditLine *riad_el_init(const char *prog);
void riad_el_set_prompt(EditLine *el, riad_prompt_fn fn);
void riad_el_set_editor(EditLine *el, const char *mode);
void riad_el_set_history(EditLine *el, History *h);
void riad_el_add_function(EditLine *el, const char *name, const char *help, riad_command_fn fn);
void riad_el_bind(EditLine *el, const char *key, const char *name);
void riad_el_set_signal(EditLine *el, int on);
void riad_el_source_default(EditLine *el);

History *riad_history_init(int size);
void riad_history_enter(History *h, const char *line);
int riad_history_load(History *h, const char *path);
int riad_history_save(History *h, const char *path);

// MARK: - Ctrl-C

/// Installs a SIGINT handler that only counts presses. While `busy` is set, a
/// second press within one evaluation exits the process with status 130.
void riad_sigint_install(void);
void riad_sigint_restore_default(void);
int riad_sigint_count(void);
void riad_sigint_clear(void);
void riad_set_busy(int busy);

// MARK: - Pseudo-terminals (for driving the REPL in tests)

/// Opens a pty master; writes the slave's path into `name`. Returns the
/// master fd, or -1.
int riad_open_pty(char *name, int length);

// MARK: - 16-bit PNG with alpha

/// libpng's simplified API premultiplies 16-bit colour by alpha, so these two
/// use the classic API (its errors longjmp, which only C can catch) to read
/// and write 16-bit gray+alpha and RGBA samples unchanged. Samples are
/// interleaved, native-endian. Both return 0 on success; otherwise `error`
/// holds libpng's message.
int riad_png_read16(const char *path, unsigned short **samples, int *width, int *height, int *channels,
                    char *error, int error_length);
int riad_png_write16(const char *path, const unsigned short *samples, int width, int height, int channels,
                     char *error, int error_length);

// MARK: - Memory

/// Keeps freed tensor memory in the heap for reuse instead of returning it
/// to the kernel: every op allocates its output, and fresh pages cost a page
/// fault and a clear each time.
void riad_configure_allocator(void);

#endif
