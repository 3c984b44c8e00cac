/*
 * fake_assert.h - cmocka assertions over what a plugin reported to the
 * fake core (fake_core.h): its state, summary and details.  On failure
 * they print everything the plugin said (fake_dump) and fail at the
 * caller's line.
 */
#ifndef FAKE_ASSERT_H
#define FAKE_ASSERT_H

#include <stddef.h>

#include "mxprobe/plugin.h"

/* Prints the state, summary and every detail with its state. */
void fake_dump(void);
/* Details containing substr; findings: those that are not OK. */
size_t fake_count_details(const char *substr);
size_t fake_count_findings(const char *substr);

#define fake_assert_state(want) fake_assert_state_at(want, __FILE__, __LINE__)
#define fake_assert_summary(want)                                              \
    fake_assert_summary_at(want, __FILE__, __LINE__)
/* A detail containing substr, with state want (the first such one). */
#define fake_assert_detail(substr, want)                                       \
    fake_assert_detail_at(substr, want, __FILE__, __LINE__)
#define fake_assert_no_detail(substr)                                          \
    fake_assert_no_detail_at(substr, __FILE__, __LINE__)

void fake_assert_state_at(enum mxp_state want, const char *file, int line);
void fake_assert_summary_at(const char *want, const char *file, int line);
void fake_assert_detail_at(const char *substr, enum mxp_state want,
                           const char *file, int line);
void fake_assert_no_detail_at(const char *substr, const char *file, int line);

#endif
