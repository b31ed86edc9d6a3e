/* log_tail.h -- the end of a run's log as text, kept in its final status's error. */
#ifndef KE_LOG_TAIL_H
#define KE_LOG_TAIL_H

#define KE_LOG_TAIL_LINES 20   /* the log tail kept in an error: at most this many lines */
#define KE_LOG_TAIL_BYTES 4096 /* ... and at most this many bytes of the log */

/* The end of the log at path: its last KE_LOG_TAIL_LINES lines or KE_LOG_TAIL_BYTES bytes,
 * whichever is shorter, trailing newlines dropped, begun at a character boundary and made valid
 * UTF-8 (bytes that are not, and NULs, become U+FFFD). Returns a malloc'd string, or NULL when
 * the log is empty, unreadable or memory runs out. */
char *ke_log_tail(const char *path);

#endif
