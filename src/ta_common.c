#include <stdarg.h>
#include <stdio.h>
#include "ta_common.h"

int ta_fail(ta_msg *msg, int code, const char *fmt, ...) {
  if (msg) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg->text, TA_MSG_LEN, fmt, ap);
    va_end(ap);
  }
  return code;
}
