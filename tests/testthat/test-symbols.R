# The shared library exports its load hooks and nothing generic (C_VISIBILITY in
# src/Makevars.in, attribute_visible in src/init.c): the glue's helpers (build_net,
# release, to_float, ...) would otherwise clash with symbols of other packages loaded in
# the same process. GCC's target_clones (ta_simd.h) stay exported as ifuncs; they carry the
# core's ta_ prefix.

test_that("the library exports R_init_tsattn, R_unload_tsattn and ta_ names only", {
  so <- system.file("libs", paste0("tsattn", .Platform$dynlib.ext), package = "tsattn")
  skip_if(!nzchar(so) || !nzchar(Sys.which("nm")), "no nm or no installed library")
  out <- system2("nm", c("-D", "--defined-only", shQuote(so)), stdout = TRUE, stderr = FALSE)
  skip_if(!length(out), "nm read no dynamic symbols")
  syms <- unique(sub("\\.resolver$", "", vapply(strsplit(trimws(out), "[[:space:]]+"),
                                                 function(p) p[length(p)], "")))
  expect_true(all(c("R_init_tsattn", "R_unload_tsattn") %in% syms))
  expect_identical(setdiff(syms[!startsWith(syms, "ta_")], c("R_init_tsattn", "R_unload_tsattn")),
                   character())
  # the registered entry points are still found through the registration
  reg <- names(getDLLRegisteredRoutines("tsattn")$.Call)
  expect_true(all(c("C_net_fit", "C_net_fit_windows", "C_damped_states") %in% reg))
  expect_false(any(reg %in% syms))
})
