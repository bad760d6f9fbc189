// Artillery processor for `fin-infra loadtest`: an HTTP 5xx response fails the virtual user.
// Artillery counts only transport errors and timeouts as errors; the load test's error rate
// (failed virtual users, % of created, judged by `ensure` and by the verdict alike) must also
// see a server that answers 500/503. The error is counted as `errors.HTTP_<status>`.
"use strict";

function failOnServerError(request, response, context, events, next) {
  if (response.statusCode >= 500) {
    const error = new Error(`HTTP ${response.statusCode} from ${request.name || request.url}`);
    error.code = `HTTP_${response.statusCode}`;
    return next(error);
  }
  return next();
}

module.exports = { failOnServerError };
