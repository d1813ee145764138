/*  cpec_log - one JSON object per line on stderr:
    {"time":"...Z","level":"info","service":"registry","instance":"host:123",
     "request_id":"...","msg":"..."}  (request_id only when given).
*/
#ifndef CPEC_LOG_H_INCLUDED
#define CPEC_LOG_H_INCLUDED

typedef enum
{
    CPEC_LOG_DEBUG = 0,
    CPEC_LOG_INFO,
    CPEC_LOG_WARN,
    CPEC_LOG_ERROR
} cpec_log_level_t;

//  Sets the process-wide service name, instance (NULL or "": host:pid) and the
//  least level written ("debug", "info", "warn", "error"; unknown: info).
void cpec_log_init (const char *service, const char *instance, const char *level);

//  Writes one line if level is enabled. request_id may be NULL. Thread-safe.
void cpec_log (cpec_log_level_t level, const char *request_id, const char *format, ...)
    __attribute__ ((format (printf, 3, 4)));

#define cpec_log_debug(rid, ...) cpec_log (CPEC_LOG_DEBUG, (rid), __VA_ARGS__)
#define cpec_log_info(rid, ...)  cpec_log (CPEC_LOG_INFO, (rid), __VA_ARGS__)
#define cpec_log_warn(rid, ...)  cpec_log (CPEC_LOG_WARN, (rid), __VA_ARGS__)
#define cpec_log_error(rid, ...) cpec_log (CPEC_LOG_ERROR, (rid), __VA_ARGS__)

#endif
