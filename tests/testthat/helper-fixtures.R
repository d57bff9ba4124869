# PyTorch reference fixtures (written by tools/make_fixtures.py) and a
# tolerance-based comparison.  Base R only.

# Parse tests/testthat/fixtures/<case>.txt into a named list.  Format:
#   # comment
#   @ <name> <ndim> <d1> ... <dk>
#   <values in row-major (C) order, over one or more lines>
# 0-d -> numeric scalar, 1-d -> numeric vector, k-d -> array with
# dim = c(d1, ..., dk) and a[i, j, ...] == torch t[i-1, j-1, ...].
read_fixture <- function(case, path = test_path("fixtures", paste0(case, ".txt"))) {
  if (!file.exists(path)) stop("fixture file not found: ", path)
  lines <- readLines(path, warn = FALSE)
  lines <- lines[nzchar(trimws(lines)) & !startsWith(lines, "#")]
  heads <- which(startsWith(lines, "@"))
  if (length(heads) == 0L || heads[1L] != 1L)
    stop("malformed fixture ", path, ": must start with an '@' header")
  ends <- c(heads[-1L] - 1L, length(lines))
  out <- vector("list", length(heads))
  nms <- character(length(heads))
  for (k in seq_along(heads)) {
    hdr <- strsplit(trimws(sub("^@", "", lines[heads[k]])), "[[:space:]]+")[[1L]]
    nm <- hdr[1L]
    ndim <- as.integer(hdr[2L])
    dims <- as.integer(hdr[-(1:2)])
    if (is.na(ndim) || length(dims) != ndim || anyNA(dims))
      stop("malformed header in ", path, ": ", lines[heads[k]])
    body <- if (ends[k] > heads[k]) lines[(heads[k] + 1L):ends[k]] else character()
    toks <- unlist(strsplit(trimws(body), "[[:space:]]+"), use.names = FALSE)
    toks <- toks[nzchar(toks)]
    vals <- as.numeric(toks)
    n <- if (ndim == 0L) 1L else prod(dims)
    if (length(vals) != n || anyNA(vals))
      stop("fixture ", path, ", tensor '", nm, "': expected ", n,
           " numbers, found ", length(vals))
    out[[k]] <- if (ndim == 0L) {
      vals
    } else if (ndim == 1L) {
      vals
    } else {
      # row-major data fill an array of the reversed shape in column-major
      # order; transposing all axes gives torch's indexing
      aperm(array(vals, rev(dims)), ndim:1)
    }
    nms[k] <- nm
  }
  if (anyDuplicated(nms)) stop("duplicate tensor names in ", path)
  names(out) <- nms
  out
}

# Entries of a fixture whose names start with "<prefix>.", with the prefix
# removed (e.g. fixture_group(fx, "grad") gives the weight gradients and "x").
fixture_group <- function(fx, prefix) {
  pre <- paste0(prefix, ".")
  sel <- startsWith(names(fx), pre)
  out <- fx[sel]
  names(out) <- substring(names(out), nchar(pre) + 1L)
  out
}

# Elementwise |actual - expected| <= atol + rtol * |expected|, with identical
# dims (a 1-d array and a plain vector of the same length count as equal).
expect_close <- function(actual, expected, rtol = 1e-5, atol = 1e-6,
                         label = NULL) {
  if (is.null(label)) label <- paste(deparse(substitute(actual)), collapse = "")
  act <- list(val = actual, lab = label)
  a <- actual
  e <- expected
  dim_of <- function(v) if (is.null(dim(v))) length(v) else dim(v)
  if (!identical(as.integer(dim_of(a)), as.integer(dim_of(e)))) {
    fail(sprintf("%s has dims [%s], expected [%s]", act$lab,
                 paste(dim_of(a), collapse = ","), paste(dim_of(e), collapse = ",")))
    return(invisible(act$val))
  }
  if (!is.numeric(a) || anyNA(a) || any(!is.finite(a))) {
    fail(sprintf("%s is not all finite numbers", act$lab))
    return(invisible(act$val))
  }
  a <- as.numeric(a)
  e <- as.numeric(e)
  if (length(e) == 0L) {
    succeed()
    return(invisible(act$val))
  }
  excess <- abs(a - e) - (atol + rtol * abs(e))
  i <- which.max(excess)
  if (excess[i] <= 0) {
    succeed()
  } else {
    idx <- if (is.null(dim(expected))) as.character(i) else
      paste(arrayInd(i, dim(expected)), collapse = ",")
    fail(sprintf(paste0(
      "%s differs from expected beyond rtol = %g, atol = %g: %d of %d elements; ",
      "worst at [%s]: actual %.9g, expected %.9g (abs err %.3g, rel err %.3g); ",
      "max rel err %.3g"),
      act$lab, rtol, atol, sum(excess > 0), length(e), idx, a[i], e[i],
      abs(a[i] - e[i]), abs(a[i] - e[i]) / max(abs(e[i]), .Machine$double.xmin),
      max(abs(a - e) / pmax(abs(e), atol))))
  }
  invisible(act$val)
}

# expect_close over every entry of a named list of expected arrays.
expect_close_list <- function(actual, expected, rtol = 1e-5, atol = 1e-6,
                              what = "") {
  expect_setequal(names(actual), names(expected))
  for (nm in names(expected)) {
    expect_close(actual[[nm]], expected[[nm]], rtol = rtol, atol = atol,
                 label = paste0(what, nm))
  }
}

# The network has exactly the fixture's initial weights ("<i>.<name>"), each with
# PyTorch's shape (a 1-d array and a plain vector count as the same); returns the names.
expect_fixture_weights <- function(fx, net) {
  wn <- grep("^[0-9]+\\.", names(fx), value = TRUE)
  w <- get_weights(net)
  expect_setequal(names(w), wn)
  for (nm in wn) {
    d_ours <- if (is.null(dim(w[[nm]]))) length(w[[nm]]) else dim(w[[nm]])
    d_torch <- if (is.null(dim(fx[[nm]]))) length(fx[[nm]]) else dim(fx[[nm]])
    expect_identical(as.integer(d_ours), as.integer(d_torch), label = paste("dims of", nm))
  }
  invisible(wn)
}
