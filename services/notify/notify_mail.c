/*  notify_mail - see notify_mail.h.

    The texts live in services/notify/templates.json, embedded at build time
    as cpec_notify_templates and parsed once. Its "_about" says the same as
    this comment, for whoever edits the texts:

    events.<type>.<language> = {subject, body: [lines]}; "*" is the generic
    template, "NotifyTest" the subscription test message. A placeholder is

        {path}   {path|filter}   {path,path,...|filter}

    where path is a dotted path into the event in its proto3 JSON form with
    proto field names and default values (cpec_json_from_message with
    CPEC_JSON_DEFAULTS): "milestone_delayed.days_late", "sez_created.sez.
    sectors". With several paths the first that is set wins, so that a
    Chinese text can prefer title_zh and fall back to title. Unset, null and
    empty values (and objects) render as the language's "missing" text ("—");
    arrays render element by element joined by its "list_separator"; numbers
    with at most 2 decimals and thousands separators; booleans as
    words.true / words.false. Timestamps are not detected: the filter says
    what a value is. The templates give due dates (planned_due, forecast_due,
    old_due, new_due: dates kept as midnight UTC) as dates, and the moments
    things happened (occurred_at, completed_at, admitted_at) as times.

        time    an RFC 3339 time in the language's zone (utc_offset_minutes):
                "2026-03-01 14:00 PKT" (en, ur), "2026-03-01 17:00（北京时间）" (zh)
        date    the same, date only: "2026-03-01"
        label   the value looked up in the language's labels, else in the
                English labels, else as it is (provinces, zones, enum value
                names, Sez field names, countries)
        days    a number of days through words.days_one / words.days_other
        slip    signed days: words.slip_late / slip_early / slip_on_time

    {{ and }} are literal braces; any other brace, an unknown filter or a
    malformed path is an error in the templates (render returns -1; the unit
    tests render every template). Substituted values lose their control
    characters (a run of them becomes one space, so a subject stays on one
    line) and bidirectional override marks, and invalid UTF-8 becomes U+FFFD.
*/
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "cpec_check.h"
#include "cpec_json.h"
#include "cpec_pb.h"
#include "notify_mail.h"

//  templates.json as a C string (services/notify/CMakeLists.txt).
extern const char cpec_notify_templates[];

//  Filters of a placeholder.
enum
{
    S_FILTER_NONE,
    S_FILTER_TIME,
    S_FILTER_DATE,
    S_FILTER_LABEL,
    S_FILTER_DAYS,
    S_FILTER_SLIP,
};

//  A growing string, always NUL-terminated once anything is added.
typedef struct
{
    char *data;      //  the text, or NULL while empty
    size_t size;     //  bytes, without the NUL
    size_t capacity; //  bytes allocated
} s_buf_t;

//  The language a text is rendered in.
typedef struct
{
    const char *name;      //  "en", "zh", "ur": a key of "languages"
    json_t *texts;         //  languages.<name> (borrowed)
    json_t *english;       //  languages.en (borrowed)
    int offset_minutes;    //  its time zone, east of UTC
    const char *suffix;    //  after a time: " PKT"
    const char *missing;   //  for an unset value: "—"
    const char *separator; //  between array elements: ", "
} s_lang_t;

//  --------------------------------------------------------------------------
//  Strings

static void
s_buf_add (s_buf_t *self, const char *data, size_t size)
{
    if (self->size + size + 1 > self->capacity) {
        size_t capacity = self->capacity ? self->capacity : 256;
        while (capacity < self->size + size + 1)
            capacity *= 2;
        self->data = (char *)cpec_realloc (self->data, capacity);
        self->capacity = capacity;
    }
    if (size)
        memcpy (self->data + self->size, data, size);
    self->size += size;
    self->data[self->size] = '\0';
}

static void
s_buf_str (s_buf_t *self, const char *string)
{
    s_buf_add (self, string, strlen (string));
}

//  The text, the caller's to free ("" when nothing was added).
static char *
s_buf_take (s_buf_t *self)
{
    if (!self->data)
        s_buf_add (self, "", 0);
    char *data = self->data;
    *self = (s_buf_t){NULL, 0, 0};
    return data;
}

//  Length of the valid UTF-8 sequence at text (at most `size` bytes), or 0
//  when it is not one (overlong forms, surrogates, past U+10FFFF).
static size_t
s_utf8_sequence (const unsigned char *text, size_t size)
{
    unsigned char lead = text[0];
    size_t length;
    unsigned long code;
    if (lead < 0x80)
        return 1;
    if (lead >= 0xc2 && lead <= 0xdf) {
        length = 2;
        code = lead & 0x1f;
    } else if (lead >= 0xe0 && lead <= 0xef) {
        length = 3;
        code = lead & 0x0f;
    } else if (lead >= 0xf0 && lead <= 0xf4) {
        length = 4;
        code = lead & 0x07;
    } else
        return 0;
    if (size < length)
        return 0;
    for (size_t i = 1; i < length; i++) {
        if ((text[i] & 0xc0) != 0x80)
            return 0;
        code = (code << 6) | (text[i] & 0x3f);
    }
    if ((length == 3 && code < 0x800) || (length == 4 && code < 0x10000) || code > 0x10ffff ||
        (code >= 0xd800 && code <= 0xdfff))
        return 0;
    return length;
}

//  True for the bidirectional embeddings, overrides and isolates
//  (U+202A..U+202E, U+2066..U+2069), which could make a value display as
//  something else.
static bool
s_bidi_control (const unsigned char *text, size_t length)
{
    return length == 3 && text[0] == 0xe2 &&
           ((text[1] == 0x80 && text[2] >= 0xaa && text[2] <= 0xae) ||
            (text[1] == 0x81 && text[2] >= 0xa6 && text[2] <= 0xa9));
}

//  Appends text as a value: each run of control characters (C0, DEL, C1)
//  becomes one space, bidirectional controls are dropped and invalid UTF-8
//  becomes U+FFFD.
static void
s_append_clean (s_buf_t *out, const char *text)
{
    const unsigned char *at = (const unsigned char *)text;
    size_t left = strlen (text);
    bool in_controls = false;
    while (left) {
        size_t length = s_utf8_sequence (at, left);
        bool control = (length == 1 && (*at < 0x20 || *at == 0x7f)) ||
                       (length == 2 && at[0] == 0xc2 && at[1] < 0xa0);
        if (control) {
            if (!in_controls)
                s_buf_add (out, " ", 1);
            in_controls = true;
        } else {
            in_controls = false;
            if (length == 0)
                s_buf_str (out, "\xef\xbf\xbd");
            else if (!s_bidi_control (at, length))
                s_buf_add (out, (const char *)at, length);
        }
        if (length == 0)
            length = 1;
        at += length;
        left -= length;
    }
}

//  --------------------------------------------------------------------------
//  The templates

static json_t *s_templates; //  parsed once; NULL when unreadable
static pthread_once_t s_templates_once = PTHREAD_ONCE_INIT;

static void
s_templates_load (void)
{
    json_error_t error;
    json_t *root = json_loads (cpec_notify_templates, JSON_REJECT_DUPLICATES, &error);
    json_t *languages = json_object_get (root, "languages");
    json_t *events = json_object_get (root, "events");
    json_t *digest = json_object_get (root, "digest");
    if (json_is_object (json_object_get (languages, "en")) &&
        json_is_object (json_object_get (events, "*")) &&
        json_is_object (json_object_get (json_object_get (digest, "texts"), "en")))
        s_templates = root;
    else
        json_decref (root);
}

static json_t *
s_templates_get (void)
{
    pthread_once (&s_templates_once, s_templates_load);
    return s_templates;
}

static const char *
s_string (json_t *object, const char *key, const char *otherwise)
{
    const char *value = json_string_value (json_object_get (object, key));
    return value ? value : otherwise;
}

//  The language of `language` ("zh", "ZH-cn", "ur_PK": its primary subtag),
//  English when the templates have no such language.
static void
s_lang_init (s_lang_t *self, json_t *templates, const char *language)
{
    json_t *languages = json_object_get (templates, "languages");
    self->name = "en";
    self->english = json_object_get (languages, "en");
    self->texts = self->english;
    size_t size = language ? strcspn (language, "-_") : 0;
    const char *key;
    json_t *texts;
    json_object_foreach (languages, key, texts)
    {
        if (size && strlen (key) == size && strncasecmp (key, language, size) == 0 &&
            json_is_object (texts)) {
            self->name = key;
            self->texts = texts;
        }
    }
    json_t *offset = json_object_get (self->texts, "utc_offset_minutes");
    self->offset_minutes = json_is_integer (offset) ? (int)json_integer_value (offset) : 0;
    self->suffix = s_string (self->texts, "time_suffix", "");
    self->missing = s_string (self->texts, "missing", "-");
    self->separator = s_string (self->texts, "list_separator", ", ");
}

//  key in the language's table (words, labels), else in English's, else
//  `otherwise`.
static const char *
s_lookup_text (const s_lang_t *lang, const char *table, const char *key, const char *otherwise)
{
    const char *text =
        json_string_value (json_object_get (json_object_get (lang->texts, table), key));
    if (!text)
        text = json_string_value (json_object_get (json_object_get (lang->english, table), key));
    return text ? text : otherwise;
}

//  --------------------------------------------------------------------------
//  Values

//  "2026-03-01 14:00" + suffix (or "2026-03-01" when suffix is NULL) for
//  Unix ms at offset_minutes east of UTC.
static void
s_format_local (int64_t unix_ms, int offset_minutes, const char *suffix, char *buf, size_t size)
{
    int64_t seconds = unix_ms / 1000 - (unix_ms % 1000 < 0 ? 1 : 0);
    time_t local = (time_t)(seconds + (int64_t)offset_minutes * 60);
    struct tm tm;
    if (!gmtime_r (&local, &tm)) {
        snprintf (buf, size, "?");
        return;
    }
    if (suffix)
        snprintf (buf, size, "%04d-%02d-%02d %02d:%02d%s", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, suffix);
    else
        snprintf (buf, size, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

//  A number with at most 2 decimals (trailing zeros dropped) and a comma
//  between thousands: "1,234.5", "-2", "702.25".
static void
s_format_number (double value, char *buf, size_t size)
{
    double rounded = round (value * 100) / 100;
    if (!isfinite (rounded) || fabs (rounded) >= 1e15) {
        snprintf (buf, size, "%.15g", value);
        return;
    }
    char digits[48];
    snprintf (digits, sizeof (digits), "%.2f", fabs (rounded));
    char *point = strchr (digits, '.');
    size_t whole = point ? (size_t)(point - digits) : strlen (digits);
    char fraction[8] = "";
    if (point) {
        snprintf (fraction, sizeof (fraction), "%s", point);
        size_t length = strlen (fraction);
        while (length > 1 && fraction[length - 1] == '0')
            fraction[--length] = '\0';
        if (length == 1)
            fraction[0] = '\0';
    }
    s_buf_t out = {NULL, 0, 0};
    if (rounded < 0)
        s_buf_str (&out, "-");
    for (size_t i = 0; i < whole; i++) {
        if (i && (whole - i) % 3 == 0)
            s_buf_str (&out, ",");
        s_buf_add (&out, digits + i, 1);
    }
    s_buf_str (&out, fraction);
    snprintf (buf, size, "%s", out.data);
    free (out.data);
}

//  pattern with its first "{n}" replaced by number.
static void
s_append_pattern (s_buf_t *out, const char *pattern, const char *number)
{
    const char *slot = strstr (pattern, "{n}");
    if (!slot) {
        s_buf_str (out, pattern);
        return;
    }
    s_buf_add (out, pattern, (size_t)(slot - pattern));
    s_buf_str (out, number);
    s_buf_str (out, slot + 3);
}

static void
s_append_days (s_buf_t *out, const s_lang_t *lang, double days)
{
    char number[64];
    s_format_number (days, number, sizeof (number));
    const char *key = strcmp (number, "1") == 0 ? "days_one" : "days_other";
    s_append_pattern (out, s_lookup_text (lang, "words", key, "{n}"), number);
}

static void
s_append_slip (s_buf_t *out, const s_lang_t *lang, double days)
{
    if (fabs (days) < 0.005) {
        s_buf_str (out, s_lookup_text (lang, "words", "slip_on_time", "0"));
        return;
    }
    s_buf_t amount = {NULL, 0, 0};
    s_append_days (&amount, lang, fabs (days));
    s_append_pattern (out,
                      s_lookup_text (lang, "words", days > 0 ? "slip_late" : "slip_early", "{n}"),
                      amount.data);
    free (amount.data);
}

//  One scalar (string, number or boolean) through its filter.
static void
s_append_scalar (s_buf_t *out, const s_lang_t *lang, json_t *value, int filter)
{
    char buf[128];
    if (json_is_string (value)) {
        const char *text = json_string_value (value);
        int64_t unix_ms;
        if ((filter == S_FILTER_TIME || filter == S_FILTER_DATE) &&
            cpec_json_parse_time (text, &unix_ms) == 0) {
            s_format_local (unix_ms, lang->offset_minutes,
                            filter == S_FILTER_TIME ? lang->suffix : NULL, buf, sizeof (buf));
            s_append_clean (out, buf);
        } else if (filter == S_FILTER_LABEL)
            s_append_clean (out, s_lookup_text (lang, "labels", text, text));
        else
            s_append_clean (out, text);
    } else if (json_is_number (value)) {
        double number = json_number_value (value);
        if (filter == S_FILTER_DAYS)
            s_append_days (out, lang, number);
        else if (filter == S_FILTER_SLIP)
            s_append_slip (out, lang, number);
        else {
            s_format_number (number, buf, sizeof (buf));
            s_buf_str (out, buf);
        }
    } else if (json_is_boolean (value))
        s_append_clean (out, s_lookup_text (lang, "words", json_is_true (value) ? "true" : "false",
                                            json_is_true (value) ? "true" : "false"));
}

//  True when a value has something to show.
static bool
s_present (json_t *value)
{
    if (!value || json_is_null (value) || json_is_object (value))
        return false;
    if (json_is_string (value))
        return json_string_length (value) > 0;
    if (json_is_array (value)) {
        size_t index;
        json_t *element;
        json_array_foreach (value, index, element)
        {
            if (!json_is_array (element) && s_present (element))
                return true;
        }
        return false;
    }
    return true;
}

//  --------------------------------------------------------------------------
//  Placeholders

//  A path is names of [A-Za-z0-9_] separated by single dots.
static bool
s_path_valid (const char *path, size_t size)
{
    if (size == 0 || path[0] == '.' || path[size - 1] == '.')
        return false;
    for (size_t i = 0; i < size; i++) {
        char c = path[i];
        bool name =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
        if (!name && !(c == '.' && path[i + 1] != '.'))
            return false;
    }
    return true;
}

//  The value at a valid path (an array element by its index), or NULL.
static json_t *
s_path_get (json_t *data, const char *path, size_t size)
{
    json_t *node = data;
    const char *end = path + size;
    for (const char *at = path; node && at < end;) {
        const char *dot = (const char *)memchr (at, '.', (size_t)(end - at));
        if (!dot)
            dot = end;
        char name[128];
        size_t length = (size_t)(dot - at);
        if (length >= sizeof (name))
            return NULL;
        memcpy (name, at, length);
        name[length] = '\0';
        if (json_is_object (node))
            node = json_object_get (node, name);
        else if (json_is_array (node) && strspn (name, "0123456789") == length)
            node = json_array_get (node, strtoul (name, NULL, 10));
        else
            node = NULL;
        at = dot + 1;
    }
    return node;
}

static int
s_filter (const char *name, size_t size)
{
    static const char *names[] = {"", "time", "date", "label", "days", "slip"};
    for (int i = S_FILTER_TIME; i <= S_FILTER_SLIP; i++)
        if (strlen (names[i]) == size && memcmp (names[i], name, size) == 0)
            return i;
    return -1;
}

//  One placeholder's text (spec is what is between the braces). -1 when
//  it is malformed.
static int
s_placeholder (s_buf_t *out, const s_lang_t *lang, const char *spec, size_t size, json_t *data)
{
    const char *bar = (const char *)memchr (spec, '|', size);
    size_t paths_size = bar ? (size_t)(bar - spec) : size;
    int filter = S_FILTER_NONE;
    if (bar) {
        filter = s_filter (bar + 1, size - paths_size - 1);
        if (filter < 0)
            return -1;
    }
    json_t *value = NULL;
    const char *end = spec + paths_size;
    for (const char *at = spec; at <= end;) {
        const char *comma = (const char *)memchr (at, ',', (size_t)(end - at));
        if (!comma)
            comma = end;
        if (!s_path_valid (at, (size_t)(comma - at)))
            return -1;
        json_t *candidate = s_path_get (data, at, (size_t)(comma - at));
        if (!value && s_present (candidate))
            value = candidate;
        at = comma + 1;
    }
    if (!value)
        s_buf_str (out, lang->missing);
    else if (json_is_array (value)) {
        size_t index;
        json_t *element;
        bool first = true;
        json_array_foreach (value, index, element)
        {
            if (json_is_array (element) || !s_present (element))
                continue;
            if (!first)
                s_buf_str (out, lang->separator);
            first = false;
            s_append_scalar (out, lang, element, filter);
        }
    } else
        s_append_scalar (out, lang, value, filter);
    return 0;
}

//  Appends template with its placeholders filled from data. -1 when the
//  template is malformed.
static int
s_render (s_buf_t *out, const s_lang_t *lang, const char *template, json_t *data)
{
    if (!template)
        return -1;
    const char *at = template;
    while (*at) {
        if ((at[0] == '{' && at[1] == '{') || (at[0] == '}' && at[1] == '}')) {
            s_buf_add (out, at, 1);
            at += 2;
        } else if (*at == '}')
            return -1;
        else if (*at == '{') {
            const char *close = strchr (at + 1, '}');
            if (!close || s_placeholder (out, lang, at + 1, (size_t)(close - at - 1), data))
                return -1;
            at = close + 1;
        } else {
            size_t size = strcspn (at, "{}");
            s_buf_add (out, at, size);
            at += size;
        }
    }
    return 0;
}

//  A one-line text: template rendered, spaces trimmed; NULL when malformed
//  or when the template itself has a line break.
static char *
s_render_line (const s_lang_t *lang, const char *template, json_t *data)
{
    if (!template || strpbrk (template, "\r\n"))
        return NULL;
    s_buf_t out = {NULL, 0, 0};
    if (s_render (&out, lang, template, data)) {
        free (out.data);
        return NULL;
    }
    char *text = s_buf_take (&out);
    size_t start = strspn (text, " ");
    size_t size = strlen (text + start);
    while (size && text[start + size - 1] == ' ')
        size--;
    memmove (text, text + start, size);
    text[size] = '\0';
    return text;
}

//  Appends each line of the array `lines`, rendered, with "\n". -1 when a
//  line is malformed or not a string.
static int
s_render_lines (s_buf_t *out, const s_lang_t *lang, json_t *lines, json_t *data)
{
    if (!json_is_array (lines))
        return -1;
    size_t index;
    json_t *line;
    json_array_foreach (lines, index, line)
    {
        if (!json_is_string (line) || s_render (out, lang, json_string_value (line), data))
            return -1;
        s_buf_str (out, "\n");
    }
    return 0;
}

//  The signature: "\n-- \n" and the language's footer lines.
static int
s_render_footer (s_buf_t *out, const s_lang_t *lang)
{
    json_t *footer = json_object_get (lang->texts, "footer");
    if (!footer)
        footer = json_object_get (lang->english, "footer");
    if (!footer)
        return 0;
    s_buf_str (out, "\n-- \n");
    return s_render_lines (out, lang, footer, NULL);
}

//  Gives out's text to *text_p when it is valid UTF-8 (it always should be).
static int
s_finish (s_buf_t *out, char **text_p)
{
    char *text = s_buf_take (out);
    if (cpec_check_utf8_length (text) < 0) {
        free (text);
        return -1;
    }
    *text_p = text;
    return 0;
}

//  --------------------------------------------------------------------------
//  Events

//  The template of an event type in lang: its own, else the generic one;
//  in lang, else in English.
static json_t *
s_event_template (json_t *templates, const char *type, const s_lang_t *lang)
{
    json_t *events = json_object_get (templates, "events");
    json_t *texts = type && *type ? json_object_get (events, type) : NULL;
    if (!json_is_object (texts))
        texts = json_object_get (events, "*");
    json_t *template = json_object_get (texts, lang->name);
    if (!json_is_object (template))
        template = json_object_get (texts, "en");
    return template;
}

//  *subject and, when body is not NULL, *body of event in lang.
static int
s_render_event (json_t *templates, const s_lang_t *lang, const Cpec__V1__Event *event,
                char **subject, char **body)
{
    json_t *template = s_event_template (templates, event->type, lang);
    json_t *data = cpec_json_from_message (&event->base, CPEC_JSON_DEFAULTS);
    int rc = -1;
    char *line = s_render_line (lang, s_string (template, "subject", NULL), data);
    s_buf_t subject_out = {NULL, 0, 0};
    s_buf_t body_out = {NULL, 0, 0};
    if (line) {
        s_buf_str (&subject_out, line);
        rc = 0;
    }
    if (rc == 0 && body)
        rc = s_render_lines (&body_out, lang, json_object_get (template, "body"), data) ||
                     s_render_footer (&body_out, lang)
                 ? -1
                 : 0;
    if (rc == 0)
        rc = s_finish (&subject_out, subject);
    if (rc == 0 && body && s_finish (&body_out, body)) {
        free (*subject);
        *subject = NULL;
        rc = -1;
    }
    free (line);
    free (subject_out.data);
    free (body_out.data);
    json_decref (data);
    return rc;
}

int
notify_text_render (const Cpec__V1__Event *event, const char *language, char **subject, char **body)
{
    json_t *templates = s_templates_get ();
    if (!templates || !event || !subject || !body)
        return -1;
    s_lang_t lang;
    s_lang_init (&lang, templates, language);
    return s_render_event (templates, &lang, event, subject, body);
}

//  --------------------------------------------------------------------------
//  The digest

//  The digest's groups in order, by the severity notify.proto gives each
//  event type: MilestoneDelayed CRITICAL, MilestoneAtRisk WARNING, the rest
//  INFO.
static const char *s_groups[] = {"critical", "warning", "info"};

static int
s_group (const Cpec__V1__Event *event)
{
    const char *type = event->type ? event->type : "";
    if (strcmp (type, "MilestoneDelayed") == 0)
        return 0;
    if (strcmp (type, "MilestoneAtRisk") == 0)
        return 1;
    return 2;
}

//  key_none for 0, key_one for 1 when the texts have it, else key.
static const char *
s_variant (json_t *texts, const char *key, size_t count)
{
    char name[64];
    if (count <= 1) {
        snprintf (name, sizeof (name), "%s_%s", key, count == 0 ? "none" : "one");
        const char *text = s_string (texts, name, NULL);
        if (text)
            return text;
    }
    return s_string (texts, key, NULL);
}

//  One event's line: its time and its subject.
static int
s_digest_line (s_buf_t *out, json_t *templates, const s_lang_t *lang, json_t *texts,
               const Cpec__V1__Event *event)
{
    char *subject = NULL;
    if (s_render_event (templates, lang, event, &subject, NULL))
        return -1;
    json_t *event_json = cpec_json_from_message (&event->base, 0);
    json_t *data = json_object ();
    json_object_set (data, "occurred_at", json_object_get (event_json, "occurred_at"));
    json_object_set_new (data, "subject", json_string (subject));
    int rc = s_render (out, lang, s_string (texts, "line", NULL), data);
    s_buf_str (out, "\n");
    json_decref (data);
    json_decref (event_json);
    free (subject);
    return rc;
}

//  One event of the digest, with what orders it.
typedef struct
{
    const Cpec__V1__Event *event;
    int group;       //  index in s_groups
    int64_t unix_ms; //  occurred_at
    size_t index;    //  in the caller's array
} s_entry_t;

//  By group, then oldest first, then as given.
static int
s_entry_compare (const void *a, const void *b)
{
    const s_entry_t *x = (const s_entry_t *)a;
    const s_entry_t *y = (const s_entry_t *)b;
    if (x->group != y->group)
        return x->group < y->group ? -1 : 1;
    if (x->unix_ms != y->unix_ms)
        return x->unix_ms < y->unix_ms ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

int
notify_digest_render (const Cpec__V1__Event *const *events, size_t count, const char *language,
                      int64_t now_ms, char **subject, char **body)
{
    json_t *templates = s_templates_get ();
    if (!templates || (count && !events) || !subject || !body)
        return -1;
    s_lang_t lang;
    s_lang_init (&lang, templates, language);
    json_t *digest = json_object_get (templates, "digest");
    json_t *texts = json_object_get (json_object_get (digest, "texts"), lang.name);
    if (!json_is_object (texts))
        texts = json_object_get (json_object_get (digest, "texts"), "en");

    s_entry_t *entries = (s_entry_t *)cpec_realloc (NULL, (count ? count : 1) * sizeof (s_entry_t));
    size_t total = 0;
    for (size_t i = 0; i < count; i++) {
        if (events[i])
            entries[total++] = (s_entry_t){events[i], s_group (events[i]),
                                           cpec_pb_timestamp_ms (events[i]->occurred_at), i};
    }
    if (total > 1)
        qsort (entries, total, sizeof (s_entry_t), s_entry_compare);

    char date[32];
    json_t *offset = json_object_get (digest, "utc_offset_minutes");
    s_format_local (now_ms, json_is_integer (offset) ? (int)json_integer_value (offset) : 0, NULL,
                    date, sizeof (date));
    json_t *data = json_pack ("{s:s, s:I}", "date", date, "count", (json_int_t)total);

    int rc = -1;
    s_buf_t out = {NULL, 0, 0};
    char *line = s_render_line (&lang, s_variant (texts, "subject", total), data);
    if (!line || s_render (&out, &lang, s_variant (texts, "intro", total), data))
        goto done;
    s_buf_str (&out, "\n");
    for (size_t first = 0, next; first < total; first = next) {
        int group = entries[first].group;
        for (next = first; next < total && entries[next].group == group; next++)
            ;
        json_t *heading = json_pack ("{s:I}", "count", (json_int_t)(next - first));
        s_buf_str (&out, "\n");
        int failed = s_render (&out, &lang, s_string (texts, s_groups[group], NULL), heading);
        json_decref (heading);
        if (failed)
            goto done;
        s_buf_str (&out, "\n");
        for (size_t i = first; i < next; i++)
            if (s_digest_line (&out, templates, &lang, texts, entries[i].event))
                goto done;
    }
    if (s_render_footer (&out, &lang) || s_finish (&out, body))
        goto done;
    *subject = line;
    line = NULL;
    rc = 0;
done:
    free (line);
    free (out.data);
    free (entries);
    json_decref (data);
    return rc;
}

//  --------------------------------------------------------------------------
//  The e-mail

#define S_LINE_MAX   78  //  RFC 5322 2.1.1: lines SHOULD be at most 78 octets
#define S_HEADER_MAX 900 //  a header value's octets, well within the 998 limit

static void
s_base64 (s_buf_t *out, const unsigned char *data, size_t size)
{
    //  57 bytes make one 76-character line; callers pass at most that.
    unsigned char encoded[4 * 20 + 1];
    int length = EVP_EncodeBlock (encoded, data, (int)size);
    s_buf_add (out, (const char *)encoded, (size_t)length);
}

//  Appends a header value: control characters (CR and LF above all) are
//  dropped, so a value can never start a header of its own; ascii_only
//  also drops every non-ASCII byte. At most S_HEADER_MAX octets, cut on a
//  character boundary.
static void
s_append_header_value (s_buf_t *out, const char *value, bool ascii_only)
{
    s_buf_t clean = {NULL, 0, 0};
    for (const unsigned char *at = (const unsigned char *)(value ? value : ""); *at; at++) {
        if (*at < 0x20 || *at == 0x7f || (ascii_only && *at >= 0x80))
            continue;
        s_buf_add (&clean, (const char *)at, 1);
    }
    size_t size = clean.size;
    if (size > S_HEADER_MAX) {
        size = S_HEADER_MAX;
        while (size && ((unsigned char)clean.data[size] & 0xc0) == 0x80)
            size--;
    }
    if (size)
        s_buf_add (out, clean.data, size);
    free (clean.data);
}

static void
s_header (s_buf_t *out, const char *name, const char *value, bool ascii_only)
{
    s_buf_str (out, name);
    s_buf_str (out, ": ");
    s_append_header_value (out, value, ascii_only);
    s_buf_str (out, "\r\n");
}

//  A subject that can go as it is: printable ASCII, no "=?" (which would
//  read as an encoded-word), no word too long to fold and no run of spaces.
static bool
s_subject_plain (const char *text)
{
    size_t word = 0;
    for (const char *at = text; *at; at++) {
        if (*at < 0x20 || *at > 0x7e || (at[0] == '=' && at[1] == '?'))
            return false;
        if (at[0] == ' ' && at[1] == ' ')
            return false; //  a run of spaces could not be folded
        word = *at == ' ' ? 0 : word + 1;
        if (word > S_LINE_MAX - strlen ("Subject: "))
            return false;
    }
    return true;
}

//  "Subject: " and text folded at its spaces (unfolding gives text back).
static void
s_subject_folded (s_buf_t *out, const char *text)
{
    s_buf_str (out, "Subject:");
    size_t line = strlen ("Subject:");
    const char *at = text;
    for (bool first = true;; first = false) {
        size_t word = strcspn (at, " ");
        if (!first && word && line + 1 + word > S_LINE_MAX) {
            s_buf_str (out, "\r\n");
            line = 0;
        }
        s_buf_str (out, " ");
        s_buf_add (out, at, word);
        line += 1 + word;
        if (!at[word])
            break;
        at += word + 1;
    }
    s_buf_str (out, "\r\n");
}

//  "Subject: " and text as RFC 2047 "B" encoded-words, each whole UTF-8
//  characters and at most 75 characters, one per line: 42 bytes (68
//  characters) on the first line after "Subject: ", 45 (72) on the others.
static void
s_subject_encoded (s_buf_t *out, const char *text)
{
    s_buf_str (out, "Subject:");
    const unsigned char *at = (const unsigned char *)text;
    size_t left = strlen (text);
    for (size_t budget = 42; left; budget = 45) {
        size_t size = 0;
        while (size < left) {
            size_t length = s_utf8_sequence (at + size, left - size);
            if (length == 0)
                length = 1; //  not UTF-8 (s_append_clean has made it so)
            if (size + length > budget)
                break;
            size += length;
        }
        if (budget == 45)
            s_buf_str (out, "\r\n");
        s_buf_str (out, " =?UTF-8?B?");
        s_base64 (out, at, size);
        s_buf_str (out, "?=");
        at += size;
        left -= size;
    }
    s_buf_str (out, "\r\n");
}

//  "Sun, 01 Mar 2026 09:00:00 +0000" (RFC 5322 3.3), whatever the locale.
static void
s_date (int64_t unix_ms, char *buf, size_t size)
{
    static const char *days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t seconds = (time_t)(unix_ms / 1000 - (unix_ms % 1000 < 0 ? 1 : 0));
    struct tm tm;
    if (!gmtime_r (&seconds, &tm))
        memset (&tm, 0, sizeof (tm));
    snprintf (buf, size, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday % 7], tm.tm_mday,
              months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

//  "<id@cpec.local>": the delivery id with every character that may not
//  stand in a dot-atom (and every dot) as "-", at most 200 of them.
static void
s_message_id (s_buf_t *out, const char *delivery_id)
{
    static const char *atext = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                               "!#$%&'*+-/=?^_`{|}~";
    s_buf_str (out, "Message-ID: <");
    size_t size = 0;
    for (const char *at = delivery_id ? delivery_id : ""; *at && size < 200; at++, size++)
        s_buf_add (out, strchr (atext, *at) ? at : "-", 1);
    if (size == 0)
        s_buf_str (out, "none");
    s_buf_str (out, "@cpec.local>\r\n");
}

//  The body in canonical form (CRLF line ends, RFC 2045 6.8 / RFC 2049),
//  base64 encoded in lines of 76 characters.
static void
s_body (s_buf_t *out, const char *body)
{
    s_buf_t canonical = {NULL, 0, 0};
    for (const char *at = body ? body : ""; *at; at++) {
        if (*at == '\r' || *at == '\n') {
            s_buf_str (&canonical, "\r\n");
            if (at[0] == '\r' && at[1] == '\n')
                at++;
        } else
            s_buf_add (&canonical, at, 1);
    }
    for (size_t at = 0; at < canonical.size; at += 57) {
        size_t size = canonical.size - at < 57 ? canonical.size - at : 57;
        s_base64 (out, (const unsigned char *)canonical.data + at, size);
        s_buf_str (out, "\r\n");
    }
    free (canonical.data);
}

char *
notify_mail_compose (const char *from, const char *to, const char *subject, const char *body,
                     const char *delivery_id, const char *event_type, int64_t now_ms)
{
    s_buf_t out = {NULL, 0, 0};
    char date[64];
    s_date (now_ms, date, sizeof (date));
    s_header (&out, "Date", date, true);
    s_header (&out, "From", from, false);
    s_header (&out, "To", to, false);

    s_buf_t clean = {NULL, 0, 0};
    s_append_clean (&clean, subject ? subject : "");
    char *text = s_buf_take (&clean);
    if (strlen (text) > 4 * S_HEADER_MAX) {
        size_t size = 4 * S_HEADER_MAX;
        while (size && ((unsigned char)text[size] & 0xc0) == 0x80)
            size--;
        text[size] = '\0';
    }
    if (s_subject_plain (text))
        s_subject_folded (&out, text);
    else
        s_subject_encoded (&out, text);
    free (text);

    s_message_id (&out, delivery_id);
    s_buf_str (&out, "MIME-Version: 1.0\r\n"
                     "Content-Type: text/plain; charset=UTF-8\r\n"
                     "Content-Transfer-Encoding: base64\r\n"
                     "Auto-Submitted: auto-generated\r\n"
                     "X-Auto-Response-Suppress: All\r\n");
    s_header (&out, "X-CPEC-Delivery", delivery_id, true);
    s_header (&out, "X-CPEC-Event", event_type, true);
    s_buf_str (&out, "\r\n");
    s_body (&out, body);
    return s_buf_take (&out);
}
