/*  notify_send - one attempt at a delivery through libcurl: a webhook POST
    (the event as JSON, signed) or an e-mail through the SMTP relay. The
    engine adds the handle to its multi handle, so that many attempts are in
    flight at once; Test uses notify_send_now. See notify.h.
*/
#include <assert.h>
#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpec_json.h"
#include "cpec_pb.h"
#include "cpec_status.h"
#include "notify.h"
#include "notify_mail.h"

struct _notify_send_t
{
    CURL *easy;                  //  the transfer
    struct curl_slist *headers;  //  webhook headers, or e-mail recipients
    char *body;                  //  request body or message, owned
    size_t size, sent;           //  body bytes, and sent so far (e-mail upload)
    bool smtp;                   //  e-mail (else webhook)
    char *tag;                   //  the subscription id
    char error[CURL_ERROR_SIZE]; //  libcurl's message
};

void
notify_signature (const char *secret, const char *body, size_t size, char signature[72])
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_size = 0;
    HMAC (EVP_sha256 (), secret, (int)strlen (secret), (const unsigned char *)body, size, mac,
          &mac_size);
    char *out = signature + sprintf (signature, "sha256=");
    for (unsigned int i = 0; i < mac_size && i < 32; i++)
        out += sprintf (out, "%02x", mac[i]);
}

char *
notify_webhook_body (const Cpec__V1__Delivery *delivery,
                     const Cpec__V1__Event *const *digest_events, size_t digest_count)
{
    if (delivery->n_digest_of == 0 && delivery->event)
        return cpec_json_encode (&delivery->event->base, 0);
    json_t *root = json_object ();
    json_t *digest = json_object ();
    json_object_set_new (digest, "subscription_id", json_string (delivery->subscription_id));
    json_object_set_new (digest, "count", json_integer ((json_int_t)digest_count));
    json_object_set_new (root, "digest", digest);
    json_t *events = json_array ();
    for (size_t i = 0; i < digest_count; i++)
        json_array_append_new (events, cpec_json_from_message (&digest_events[i]->base, 0));
    json_object_set_new (root, "events", events);
    char *text = json_dumps (root, JSON_COMPACT);
    json_decref (root);
    assert (text);
    return text;
}

static size_t
s_discard (char *data, size_t size, size_t count, void *arg)
{
    (void)data;
    (void)arg;
    return size * count;
}

static size_t
s_upload (char *buffer, size_t size, size_t count, void *arg)
{
    notify_send_t *self = (notify_send_t *)arg;
    size_t room = size * count;
    size_t left = self->size - self->sent;
    size_t n = left < room ? left : room;
    memcpy (buffer, self->body + self->sent, n);
    self->sent += n;
    return n;
}

static void
s_header (notify_send_t *self, const char *name, const char *value)
{
    char line[512];
    snprintf (line, sizeof (line), "%s: %s", name, value);
    self->headers = curl_slist_append (self->headers, line);
}

static const char *
s_event_type (const Cpec__V1__Delivery *delivery)
{
    return delivery->n_digest_of  ? NOTIFY_DIGEST_TYPE
           : delivery->event_type ? delivery->event_type
                                  : "";
}

//  The e-mail text of a delivery (a digest's, or its event's), composed.
static char *
s_mail (const notify_config_t *config, const Cpec__V1__Subscription *subscription,
        const Cpec__V1__Delivery *delivery, const Cpec__V1__Event *const *digest_events,
        size_t digest_count)
{
    char *subject = NULL, *text = NULL;
    int rc = delivery->n_digest_of
                 ? notify_digest_render (digest_events, digest_count, subscription->language,
                                         cpec_now_ms (), &subject, &text)
             : delivery->event
                 ? notify_text_render (delivery->event, subscription->language, &subject, &text)
                 : -1;
    char *message = NULL;
    if (rc == 0)
        message = notify_mail_compose (config->mail_from, subscription->email, subject, text,
                                       delivery->id, s_event_type (delivery), cpec_now_ms ());
    free (subject);
    free (text);
    return message;
}

notify_send_t *
notify_send_new (const notify_config_t *config, const Cpec__V1__Subscription *subscription,
                 const Cpec__V1__Delivery *delivery, const Cpec__V1__Event *const *digest_events,
                 size_t digest_count, const char *body, notify_result_t *result)
{
    assert (config && subscription && delivery && result);
    *result = (notify_result_t){.outcome = NOTIFY_RETRY};
    bool smtp = subscription->channel == CPEC__V1__SUBSCRIPTION__CHANNEL__EMAIL;
    if (smtp && (!config->smtp_url || !*config->smtp_url)) {
        snprintf (result->error, sizeof (result->error),
                  "no SMTP relay configured (CPEC_NOTIFY_SMTP_URL)");
        return NULL;
    }
    if (!smtp && subscription->channel != CPEC__V1__SUBSCRIPTION__CHANNEL__WEBHOOK) {
        result->outcome = NOTIFY_DEAD;
        snprintf (result->error, sizeof (result->error), "channel %d is not sent by an attempt",
                  (int)subscription->channel);
        return NULL;
    }
    notify_send_t *self = (notify_send_t *)calloc (1, sizeof (notify_send_t));
    assert (self);
    self->smtp = smtp;
    self->tag = cpec_strdup (subscription->id);
    self->easy = curl_easy_init ();
    assert (self->easy);
    CURL *easy = self->easy;
    curl_easy_setopt (easy, CURLOPT_PRIVATE, self);
    curl_easy_setopt (easy, CURLOPT_ERRORBUFFER, self->error);
    curl_easy_setopt (easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt (easy, CURLOPT_TIMEOUT_MS, (long)config->http_timeout_ms);
    curl_easy_setopt (easy, CURLOPT_CONNECTTIMEOUT_MS, (long)config->http_timeout_ms);
    curl_easy_setopt (easy, CURLOPT_WRITEFUNCTION, s_discard);
    if (smtp) {
        self->body = s_mail (config, subscription, delivery, digest_events, digest_count);
        if (!self->body) {
            result->outcome = NOTIFY_DEAD;
            snprintf (result->error, sizeof (result->error), "the message cannot be rendered");
            notify_send_destroy (&self);
            return NULL;
        }
        self->size = strlen (self->body);
        self->headers = curl_slist_append (NULL, subscription->email);
        curl_easy_setopt (easy, CURLOPT_URL, config->smtp_url);
        curl_easy_setopt (easy, CURLOPT_MAIL_FROM, config->mail_from);
        curl_easy_setopt (easy, CURLOPT_MAIL_RCPT, self->headers);
        curl_easy_setopt (easy, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt (easy, CURLOPT_READFUNCTION, s_upload);
        curl_easy_setopt (easy, CURLOPT_READDATA, self);
        curl_easy_setopt (easy, CURLOPT_INFILESIZE_LARGE, (curl_off_t)self->size);
        //  One message per session, closed with QUIT: an idle session kept
        //  for reuse would tie up a relay that serves few at a time
        curl_easy_setopt (easy, CURLOPT_FORBID_REUSE, 1L);
    } else {
        self->body =
            body ? cpec_strdup (body) : notify_webhook_body (delivery, digest_events, digest_count);
        self->size = strlen (self->body);
        char signature[72];
        notify_signature (subscription->secret ? subscription->secret : "", self->body, self->size,
                          signature);
        s_header (self, "Content-Type", "application/json; charset=utf-8");
        s_header (self, "User-Agent", "cpec-notify/1");
        s_header (self, "X-CPEC-Delivery", delivery->id);
        s_header (self, "X-CPEC-Event", s_event_type (delivery));
        s_header (self, "X-CPEC-Subscription", subscription->id);
        s_header (self, "X-CPEC-Signature", signature);
        s_header (self, "Expect", ""); //  no 100-continue round trip
        curl_easy_setopt (easy, CURLOPT_URL, subscription->url);
        curl_easy_setopt (easy, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt (easy, CURLOPT_HTTPHEADER, self->headers);
        curl_easy_setopt (easy, CURLOPT_POST, 1L);
        curl_easy_setopt (easy, CURLOPT_POSTFIELDS, self->body);
        curl_easy_setopt (easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)self->size);
        curl_easy_setopt (easy, CURLOPT_FOLLOWLOCATION, 0L);
    }
    return self;
}

void *
notify_send_handle (notify_send_t *self)
{
    assert (self);
    return self->easy;
}

const char *
notify_send_tag (notify_send_t *self)
{
    assert (self);
    return self->tag;
}

void
notify_send_result (notify_send_t *self, int code, notify_result_t *result)
{
    assert (self && result);
    *result = (notify_result_t){0};
    long status = 0;
    curl_easy_getinfo (self->easy, CURLINFO_RESPONSE_CODE, &status);
    curl_off_t total = 0;
    curl_easy_getinfo (self->easy, CURLINFO_TOTAL_TIME_T, &total);
    result->latency_ms = (int64_t)(total / 1000);
    result->status_code = (int)status;
    if (!self->smtp) {
        curl_off_t retry_after = 0;
        if (curl_easy_getinfo (self->easy, CURLINFO_RETRY_AFTER, &retry_after) == CURLE_OK &&
            retry_after > 0)
            result->retry_after_ms = (int64_t)retry_after * 1000;
    }
    if (code != CURLE_OK) {
        //  SMTP: libcurl fails the transfer on a refusal and keeps the code
        if (!(self->smtp && status >= 400))
            result->status_code = self->smtp ? 0 : (int)status;
        result->outcome = notify_classify (self->smtp, result->status_code);
        if (result->outcome == NOTIFY_DELIVERED)
            result->outcome = NOTIFY_RETRY;
        snprintf (result->error, sizeof (result->error), "%s",
                  *self->error ? self->error : curl_easy_strerror ((CURLcode)code));
        return;
    }
    result->outcome = notify_classify (self->smtp, result->status_code);
    if (result->outcome != NOTIFY_DELIVERED)
        snprintf (result->error, sizeof (result->error), "%s answered %d",
                  self->smtp ? "the SMTP relay" : "the receiver", result->status_code);
}

void
notify_send_destroy (notify_send_t **self_p)
{
    assert (self_p);
    notify_send_t *self = *self_p;
    if (!self)
        return;
    if (self->easy)
        curl_easy_cleanup (self->easy);
    curl_slist_free_all (self->headers);
    free (self->body);
    free (self->tag);
    free (self);
    *self_p = NULL;
}

void
notify_send_now (const notify_config_t *config, const Cpec__V1__Subscription *subscription,
                 const Cpec__V1__Delivery *delivery, notify_result_t *result)
{
    notify_send_t *send = notify_send_new (config, subscription, delivery, NULL, 0, NULL, result);
    if (!send)
        return;
    CURLcode code = curl_easy_perform (send->easy);
    notify_send_result (send, (int)code, result);
    notify_send_destroy (&send);
}
