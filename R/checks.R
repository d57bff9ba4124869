# Argument checks in the user's terms: every error names the argument, says what was
# expected and what was given (vctrs' habit), and is raised from the user's call.

stop_arg <- function(arg, expected, given = NULL, call = sys.call(-1L), verb = "be") {
  msg <- sprintf("`%s` must %s %s", arg, verb, expected)
  if (!is.null(given)) msg <- sprintf("%s, not %s", msg, given)
  cond <- structure(
    class = c("tsattn_error_argument", "error", "condition"),
    list(message = paste0(msg, "."), call = call, arg = arg)
  )
  stop(cond)
}

describe <- function(x) {
  if (is.null(x)) return("NULL")
  if (is.atomic(x) && length(x) == 1L) {
    if (is.character(x)) return(sprintf("\"%s\"", x))
    return(format(x))
  }
  if (is.array(x)) return(sprintf("a %s array of dim %s", typeof(x), paste(dim(x), collapse = " x ")))
  if (is.atomic(x)) return(sprintf("a %s vector of length %d", typeof(x), length(x)))
  sprintf("an object of class %s", paste(class(x), collapse = "/"))
}

# a whole number in [min, .Machine$integer.max] (larger counts would become NA in C)
check_count <- function(x, arg, min = 1L, call = sys.call(-1L)) {
  if (!is.numeric(x) || length(x) != 1L || is.na(x) || !is.finite(x) || x != round(x) || x < min)
    stop_arg(arg, sprintf("a whole number >= %d", min), describe(x), call = call)
  if (x > .Machine$integer.max)
    stop_arg(arg, sprintf("a whole number between %d and %d (.Machine$integer.max)", min,
                          .Machine$integer.max), describe(x), call = call)
  as.integer(x)
}

check_number <- function(x, arg, lower = -Inf, upper = Inf, lower_open = FALSE,
                         upper_open = FALSE, call = sys.call(-1L)) {
  ok <- is.numeric(x) && length(x) == 1L && !is.na(x) && is.finite(x)
  if (ok) ok <- (if (lower_open) x > lower else x >= lower) && (if (upper_open) x < upper else x <= upper)
  if (!ok) {
    range <- if (is.finite(lower) && is.finite(upper)) {
      sprintf("in %s%g, %g%s", if (lower_open) "(" else "[", lower, upper, if (upper_open) ")" else "]")
    } else if (is.finite(lower)) {
      sprintf("%s %g", if (lower_open) ">" else ">=", lower)
    } else {
      "finite"
    }
    stop_arg(arg, sprintf("a single number %s", range), describe(x), call = call)
  }
  as.double(x)
}

check_flag <- function(x, arg, call = sys.call(-1L)) {
  if (!is.logical(x) || length(x) != 1L || is.na(x))
    stop_arg(arg, "TRUE or FALSE", describe(x), call = call)
  x
}

check_choice <- function(x, arg, choices, call = sys.call(-1L)) {
  if (!is.character(x) || length(x) != 1L || is.na(x) || !x %in% choices)
    stop_arg(arg, paste0("one of ", paste0("\"", choices, "\"", collapse = ", ")), describe(x),
             call = call)
  x
}

# Coerces x to a [batch, time, features] double array: a vector (or ts) is one
# sequence of one feature, a matrix is [batch, time] with one feature.
as_seq_array <- function(x, arg, call = sys.call(-1L)) {
  if (is.data.frame(x)) x <- as.matrix(x)
  if (!(is.numeric(x) || is.logical(x) && all(is.na(x))) || is.object(x) && !stats::is.ts(x))
    stop_arg(arg, "a numeric array [batch, time, features], matrix [batch, time] or vector",
             describe(x), call = call)
  d <- dim(x)
  if (is.null(d) || length(d) == 1L) {
    x <- array(as.double(x), c(1L, length(x), 1L))
  } else if (length(d) == 2L) {
    x <- array(as.double(x), c(d, 1L))
  } else if (length(d) == 3L) {
    x <- array(as.double(x), d)
  } else {
    stop_arg(arg, "an array with 3 dimensions [batch, time, features]",
             sprintf("an array with %d", length(d)), call = call)
  }
  if (any(dim(x) == 0L))
    stop_arg(arg, "non-empty", sprintf("an array of dim %s", paste(dim(x), collapse = " x ")), call = call)
  bad <- !is.finite(x)
  if (any(bad)) {
    where <- which(bad)[1L]
    stop_arg(arg, "free of NA, NaN and Inf",
             sprintf("%d such value%s (the first at [%s])", sum(bad), if (sum(bad) > 1) "s" else "",
                     paste(arrayInd(where, dim(x)), collapse = ", ")), call = call)
  }
  x
}

# row-major (features fastest) flattening for the C core, and back
to_core <- function(x) as.double(aperm(x, c(3L, 2L, 1L)))
from_core <- function(v, B, T, F) {
  dim(v) <- c(F, T, B) # in place where v is not shared: array() would copy it first
  aperm(v, c(3L, 2L, 1L))
}
