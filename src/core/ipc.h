/*
 * ipc.h - records from a job's child to the parent.
 *
 * Each record is a 4-byte length (host order: both ends are this
 * process image), a type byte and a payload.  The parent decodes them
 * into a struct mxp_check_result as they arrive and caps what one job may
 * send, so a runaway plugin cannot exhaust the parent's memory.
 */
#ifndef MXP_IPC_H
#define MXP_IPC_H

#include <stddef.h>

#include "buf.h"
#include "report.h"

enum mxp_ipc_type {
    MXP_IPC_RESULT = 'R',     /* state byte + summary */
    MXP_IPC_DETAIL = 'D',     /* state byte + text */
    MXP_IPC_PERF = 'P',       /* NUL-separated fields */
    MXP_IPC_TRANSCRIPT = 'T', /* double t + dir byte + text */
    MXP_IPC_LOG = 'L',        /* text */
    MXP_IPC_FIELD = 'F',      /* key NUL, 's' or 'n' NUL, value NUL */
};

#define MXP_IPC_MAX_RECORD (64 * 1024)
#define MXP_IPC_MAX_TOTAL (4 * 1024 * 1024)

/* Child side: writes one record (blocking); longer texts are cut. */
int mxp_ipc_send(int fd, enum mxp_ipc_type type, const void *payload,
                 size_t len);
int mxp_ipc_send_state_text(int fd, enum mxp_ipc_type type,
                            enum mxp_state st, const char *text);
int mxp_ipc_send_perf(int fd, const char *label,
                      const struct mxp_perf *p);
int mxp_ipc_send_transcript(int fd, double t, char dir, const char *text);
/* A field: text, or (text NULL) the number. */
int mxp_ipc_send_field(int fd, const char *key, const char *text,
                       double number);

/* Parent side. */
struct mxp_ipc_reader {
    struct mxp_buf in;
    size_t total;
    int got_result;
    int overflow; /* the job sent more than MXP_IPC_MAX_TOTAL */
};

void mxp_ipc_reader_init(struct mxp_ipc_reader *r);
void mxp_ipc_reader_free(struct mxp_ipc_reader *r);
/* Feeds bytes read from the pipe; complete records update res.  Returns
 * MXP_OK, MXP_ERR_PROTOCOL for a corrupt stream, MXP_ERR_NOMEM. */
int mxp_ipc_feed(struct mxp_ipc_reader *r, const char *data, size_t len,
                 struct mxp_check_result *res);

#endif
