/*  cpec_log - one JSON object per line on stderr, built with jansson so that
    any message is escaped correctly.
*/
#include "cpec_log.h"

#include <jansson.h>
#include <pthread.h>
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define S_NAME_MAX 256

static pthread_mutex_t s_mutex = PTHREAD_MUTEX_INITIALIZER;
static atomic_int s_level = CPEC_LOG_INFO; //  least level written
static char s_service[S_NAME_MAX] = "";    //  service name; "": the program name
static char s_instance[S_NAME_MAX] = "";   //  instance given to init, or ""
static const char *s_level_names[] = {"debug", "info", "warn", "error"};

//  Copies a possibly truncated string into a fixed buffer.
static void
s_copy (char *dest, const char *src)
{
    snprintf (dest, S_NAME_MAX, "%s", src ? src : "");
}

void
cpec_log_init (const char *service, const char *instance, const char *level)
{
    int least = CPEC_LOG_INFO;
    if (level && strcasecmp (level, "debug") == 0)
        least = CPEC_LOG_DEBUG;
    else if (level && (strcasecmp (level, "warn") == 0 || strcasecmp (level, "warning") == 0))
        least = CPEC_LOG_WARN;
    else if (level && strcasecmp (level, "error") == 0)
        least = CPEC_LOG_ERROR;

    pthread_mutex_lock (&s_mutex);
    s_copy (s_service, service);
    s_copy (s_instance, instance);
    atomic_store (&s_level, least);
    pthread_mutex_unlock (&s_mutex);
}

//  Length of the valid UTF-8 sequence at text (RFC 3629: no overlongs, no
//  surrogates, nothing past U+10FFFF), or 0 if it is not valid.
static size_t
s_utf8_length (const unsigned char *text)
{
    unsigned char c = text[0];
    if (c < 0x80)
        return 1;
    size_t length;
    unsigned char low = 0x80, high = 0xBF; //  bounds of the second byte
    if (c >= 0xC2 && c <= 0xDF)
        length = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        length = 3;
        if (c == 0xE0)
            low = 0xA0;
        else if (c == 0xED)
            high = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        length = 4;
        if (c == 0xF0)
            low = 0x90;
        else if (c == 0xF4)
            high = 0x8F;
    } else
        return 0;
    if (text[1] < low || text[1] > high)
        return 0;
    for (size_t index = 2; index < length; index++)
        if (text[index] < 0x80 || text[index] > 0xBF)
            return 0;
    return length;
}

//  A JSON string of text, with each byte that is not valid UTF-8 replaced by
//  U+FFFD so that jansson accepts it. NULL on OOM.
static json_t *
s_json_string (const char *text)
{
    json_t *string = json_string (text);
    if (string)
        return string;
    //  Invalid UTF-8: each bad byte becomes three.
    size_t size = strlen (text);
    char *clean = (char *)malloc (size * 3 + 1);
    if (clean == NULL)
        return NULL;
    const unsigned char *in = (const unsigned char *)text;
    char *out = clean;
    while (*in) {
        size_t length = s_utf8_length (in);
        if (length) {
            memcpy (out, in, length);
            out += length;
            in += length;
        } else {
            memcpy (out, "\xEF\xBF\xBD", 3);
            out += 3;
            in++;
        }
    }
    *out = '\0';
    string = json_string (clean);
    free (clean);
    return string;
}

//  Formats the current time as RFC 3339 UTC with milliseconds.
static void
s_timestamp (char *buffer, size_t size)
{
    struct timespec now;
    clock_gettime (CLOCK_REALTIME, &now);
    struct tm tm;
    gmtime_r (&now.tv_sec, &tm);
    size_t length = strftime (buffer, size, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf (buffer + length, size - length, ".%03ldZ", now.tv_nsec / 1000000L);
}

//  The printf-style message; the caller frees it. NULL on OOM.
static char *
s_format (const char *format, va_list args)
{
    char small[512];
    va_list copy;
    va_copy (copy, args);
    int length = vsnprintf (small, sizeof (small), format, copy);
    va_end (copy);
    if (length < 0)
        return strdup ("(bad log format)");
    if ((size_t)length < sizeof (small))
        return strdup (small);
    char *message = (char *)malloc ((size_t)length + 1);
    if (message)
        vsnprintf (message, (size_t)length + 1, format, args);
    return message;
}

void
cpec_log (cpec_log_level_t level, const char *request_id, const char *format, ...)
{
    if ((int)level < atomic_load (&s_level))
        return;
    if ((int)level < CPEC_LOG_DEBUG || (int)level > CPEC_LOG_ERROR)
        level = CPEC_LOG_ERROR;

    va_list args;
    va_start (args, format);
    char *message = s_format (format, args);
    va_end (args);

    char stamp[64];
    s_timestamp (stamp, sizeof (stamp));

    pthread_mutex_lock (&s_mutex);
    char instance[S_NAME_MAX + 32];
    if (*s_instance)
        snprintf (instance, sizeof (instance), "%s", s_instance);
    else {
        char host[S_NAME_MAX] = "";
        if (gethostname (host, sizeof (host) - 1) != 0)
            snprintf (host, sizeof (host), "unknown");
        snprintf (instance, sizeof (instance), "%s:%ld", host, (long)getpid ());
    }
    json_t *line = json_object ();
    if (line) {
        json_object_set_new (line, "time", json_string (stamp));
        json_object_set_new (line, "level", json_string (s_level_names[level]));
        json_object_set_new (
            line, "service",
            s_json_string (*s_service ? s_service : program_invocation_short_name));
        json_object_set_new (line, "instance", s_json_string (instance));
        if (request_id)
            json_object_set_new (line, "request_id", s_json_string (request_id));
        json_object_set_new (line, "msg", s_json_string (message ? message : "(out of memory)"));
    }
    char *text = line ? json_dumps (line, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    if (text)
        fprintf (stderr, "%s\n", text);
    else
        fprintf (stderr, "{\"time\":\"%s\",\"level\":\"%s\",\"msg\":\"(out of memory)\"}\n", stamp,
                 s_level_names[level]);
    fflush (stderr);
    pthread_mutex_unlock (&s_mutex);

    free (text);
    json_decref (line);
    free (message);
}
