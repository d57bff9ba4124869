#' A toy sequence task: noisy triangles and boxes
#'
#' François Fleuret's sequence-to-sequence toy task, ported from his PyTorch code.
#' Each input sequence holds two triangles and two boxes of random position, height
#' (1 to 25) and width (5 to 11) plus uniform noise in `+-noise / 2`; the target is the
#' same sequence with the two triangles given their mean height and the two boxes
#' theirs. Sequences where shapes touch, or whose two triangles differ in height by 4
#' or less, are redrawn. Solving it needs information from far away in the sequence,
#' which is why a convolutional network with one attention layer beats a plain one.
#'
#' Random numbers come from R's generator, so `set.seed()` makes the data repeat.
#'
#' @param n Number of sequences.
#' @param length Sequence length.
#' @param noise Width of the uniform noise added to inputs and targets.
#' @return A list with `x` and `y`, arrays `[n, length, 1]`.
#' @examples
#' set.seed(1)
#' d <- toy_shapes(2)
#' matplot(cbind(d$x[1, , 1], d$y[1, , 1]), type = "l", lty = 1, ylab = "height")
#' @export
toy_shapes <- function(n, length = 100, noise = 0.3) {
  n <- check_count(n, "n")
  length <- check_count(length, "length", min = 12L)
  noise <- check_number(noise, "noise", 0)
  xs <- ys <- vector("list", 0L)
  have <- 0L
  while (have < n) {
    d <- toy_shapes_draw(n - have, length, noise)
    xs[[base::length(xs) + 1L]] <- d$x
    ys[[base::length(ys) + 1L]] <- d$y
    have <- have + nrow(d$x)
  }
  x <- do.call(rbind, xs)
  y <- do.call(rbind, ys)
  list(x = array(x, c(n, length, 1L)), y = array(y, c(n, length, 1L)))
}

# one draw of nb candidates; returns the valid ones as matrices [n_valid, length]
toy_shapes_draw <- function(nb, len, noise) {
  w_min <- 5; w_max <- 11; h_min <- 1; h_max <- 25
  shapes <- function() list(
    pos = matrix(stats::runif(2 * nb, w_max / 2, len - w_max / 2), nb, 2),
    height = matrix(stats::runif(2 * nb, h_min, h_max), nb, 2),
    width = matrix(stats::runif(2 * nb, w_min, w_max), nb, 2)
  )
  tr <- shapes()
  bx <- shapes()
  valid <- abs(tr$height[, 1] - tr$height[, 2]) > 4
  input <- toy_shapes_render(tr, bx, len, noise)
  tr$height[] <- rowMeans(tr$height)
  bx$height[] <- rowMeans(bx$height)
  target <- toy_shapes_render(tr, bx, len, noise)
  keep <- valid & !input$collision
  list(x = input$y[keep, , drop = FALSE], y = target$y[keep, , drop = FALSE])
}

# Fleuret's positions_to_sequences(): the four shapes on a grid 0..len-1, their
# maximum, noise; and whether two shapes touch (two nonzero within two steps)
toy_shapes_render <- function(tr, bx, len, noise) {
  nb <- nrow(tr$pos)
  st <- matrix(0:(len - 1L), nb, len, byrow = TRUE)
  relu <- function(v) pmax(v, 0)
  one <- function(k, kind) {
    if (kind == "tri") {
      h <- tr$height[, k]
      relu(h - relu(abs(st - tr$pos[, k]) - 0.5) * 2 * h / tr$width[, k])
    } else {
      h <- bx$height[, k]
      sign(relu(h - abs((st - bx$pos[, k]) * 2 * h / bx$width[, k]))) * h
    }
  }
  parts <- list(one(1, "tri"), one(2, "tri"), one(1, "box"), one(2, "box"))
  y <- do.call(pmax, parts)
  # max_pool1d(kernel 2, stride 1) of the signs, then more than one shape at a step
  pooled <- lapply(parts, function(p) {
    s <- sign(p)
    pmax(s[, -len, drop = FALSE], s[, -1L, drop = FALSE])
  })
  collision <- rowSums(Reduce(`+`, pooled) > 1) > 0
  y <- y + matrix(stats::runif(nb * len), nb, len) * noise - noise / 2
  list(y = y, collision = collision)
}
