/*  notify_mail - what a notification says, in English, Chinese or Urdu, and
    the e-mail that carries it. Pure: no sockets, no Redis.

    The texts come from templates per event type and language
    (services/notify/templates.json, embedded at build time) whose
    placeholders name fields of the event in its JSON form:
    {milestone_delayed.title}, {milestone_delayed.planned_due|date}. The
    syntax and filters are described at the top of notify_mail.c and in the
    file's "_about". Times show in Pakistan time for en and ur
    ("2026-03-01 14:00 PKT") and China time for zh
    ("2026-03-01 17:00（北京时间）").
*/
#ifndef NOTIFY_MAIL_H_INCLUDED
#define NOTIFY_MAIL_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

#include "cpec/v1/events.pb-c.h"

//  Renders event for a reader of language ("en", "zh" or "ur", by its
//  primary subtag: "zh-CN" reads as "zh"; anything else reads as "en"):
//  *subject (one line) and *body (lines ending in "\n", then a "-- "
//  signature), both valid UTF-8 and the caller's to free. An event type
//  without a template of its own gets the generic one. Values lose their
//  control characters (a run becomes one space) and bidi overrides. 0, or
//  -1 when the templates cannot be read or are malformed (a programmer
//  error: the unit tests render every one).
int notify_text_render (const Cpec__V1__Event *event, const char *language, char **subject,
                        char **body);

//  Renders the daily digest of events (count may be 0; NULL entries are
//  skipped) for language, dated by now_ms in Pakistan time: *subject
//  ("CPEC daily digest, 2026-03-01: 12 events") and *body: one line per
//  event (its time and its subject), grouped as delays, risks and other
//  updates, oldest first within a group. *subject and *body as above.
int notify_digest_render (const Cpec__V1__Event *const *events, size_t count, const char *language,
                          int64_t now_ms, char **subject, char **body);

//  A whole RFC 5322 message with MIME headers, ready for SMTP DATA (CRLF
//  line ends, no line starts with "."): Date (now_ms, +0000), From, To,
//  Subject (as it is, folded, when printable ASCII; else RFC 2047 UTF-8 "B"
//  encoded-words of whole characters, at most 75 characters each, one per
//  line), Message-ID <delivery_id@cpec.local> (the same for every retry of
//  a delivery), MIME-Version, Content-Type text/plain; charset=UTF-8,
//  Content-Transfer-Encoding base64, Auto-Submitted: auto-generated,
//  X-Auto-Response-Suppress, X-CPEC-Delivery and X-CPEC-Event. Header
//  values are stripped of CR, LF and other controls, so none can add a
//  header. The body goes in its canonical form (every line end CRLF, RFC
//  2045 6.8), base64 in lines of 76. Any argument may be NULL (empty).
//  Never NULL; the caller's to free.
char *notify_mail_compose (const char *from, const char *to, const char *subject, const char *body,
                           const char *delivery_id, const char *event_type, int64_t now_ms);

#endif
