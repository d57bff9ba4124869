# Checksums of fitted models: without them, 33 of 128 byte-corrupted .rds files of fitted
# models loaded and forecast altered values, since a flipped bit in a weight or a
# scaling is still a valid number. tsattn() stores a checksum (FNV-1a over the bytes of
# the doubles, src/api_util.c) of everything a forecast reads, and validate_*() compares
# it before forecasting: a corrupted or edited fit is an error naming `$checksum`.

# the numbers a forecast of `object` reads, as a list of double vectors
checksum_parts <- function(object) {
  num <- function(v) if (is.null(v)) double() else as.double(unlist(v, use.names = FALSE))
  net_parts <- function(net) c(lapply(net$weights, num), list(num(net$input_dim)))
  parts <- c(list(num(object$x), num(stats::tsp(object$x)), num(dim(as.matrix(object$x)))),
             net_parts(object$network),
             lapply(c("lookback", "horizon", "lag", "log", "difference", "seq2seq", "center",
                      "scale", "xreg", "xreg_center", "xreg_scale", "features", "resid_scaled"),
                    function(f) num(object[[f]])),
             lapply(object$val_resid, num))
  if (inherits(object, "tsattn_ensemble")) {
    parts <- c(parts,
               lapply(c("adjusted", "scale_remainder", "net_weight", "remainder_horizon", "lookbacks",
                        "static"),
                      function(f) num(object[[f]])),
               lapply(object$backbone, num),
               list(num(object$transform$log), num(object$transform$m),
                    num(object$transform$season), num(object$transform$start_cycle)),
               unlist(lapply(object$members, function(m)
                 c(net_parts(m$network), list(num(m$lookback), num(m$features)))),
                 recursive = FALSE))
  }
  parts
}

# parts: what lists the numbers a forecast reads (a global fit's: global_checksum_parts)
fit_checksum <- function(object, parts = checksum_parts) .Call(C_checksum, parts(object))

# `object` with its checksum stored (the last step of building a fit)
seal_fit <- function(object, parts = checksum_parts) {
  object$checksum <- NULL
  object$checksum <- fit_checksum(object, parts)
  object
}

check_checksum <- function(object, arg = "object", call = sys.call(-1L), parts = checksum_parts) {
  stored <- object$checksum
  if (!is.character(stored) || length(stored) != 1L || is.na(stored) ||
      !identical(stored, fit_checksum(object, parts)))
    stop_arg(sprintf("%s$checksum", arg),
             paste("the checksum of the fit's weights and fields as tsattn() stored them: the",
                   "fit was corrupted (e.g. a damaged .rds file) or edited after fitting;",
                   "refit it with tsattn()"),
             if (is.character(stored) && length(stored) == 1L) "a different one" else describe(stored),
             call = call, verb = "match")
  invisible(object)
}
