# Reference weights for tests/test_weights.py, from R's survey package (an implementation
# independent of cxlib.weights). Run once from this folder and commit the CSVs:
#   Rscript rake.R          (R 4.2.2, survey 4.1.1 from Debian: r-base-core, r-cran-survey)
# Writes input.csv (the sample), margins.csv (population counts), weights.csv and
# diagnostics.csv. CI does not run R; the tests read the CSVs.
suppressPackageStartupMessages(library(survey))
set.seed(20261215)

# -- an unbalanced sample of 400: North, the old and premium under-represented ----------------
n <- 400
region <- sample(c("North", "East", "South", "West"), n, replace = TRUE,
                 prob = c(0.12, 0.30, 0.38, 0.20))
age <- sample(c("18-34", "35-54", "55+"), n, replace = TRUE, prob = c(0.42, 0.38, 0.20))
plan <- ifelse(runif(n) < ifelse(age == "55+", 0.35, 0.10), "premium",
               sample(c("basic", "standard"), n, replace = TRUE, prob = c(0.6, 0.4)))
base <- round(runif(n, 0.5, 2), 2)
sample_df <- data.frame(id = sprintf("S%03d", 1:n), region, age, plan, base_weight = base)
write.csv(sample_df, "input.csv", row.names = FALSE)
df <- read.csv("input.csv", stringsAsFactors = FALSE)   # use exactly what Python reads

pop <- list(region = c(North = 3000, East = 4500, South = 5000, West = 2500),
            age = c(`18-34` = 4200, `35-54` = 6000, `55+` = 4800),
            plan = c(basic = 7500, standard = 5000, premium = 2500))
margins <- do.call(rbind, lapply(names(pop), function(v)
  data.frame(variable = v, category = names(pop[[v]]), target = unname(pop[[v]]))))
write.csv(margins, "margins.csv", row.names = FALSE)

pop_margins <- function(scale = 1) lapply(names(pop), function(v) {
  d <- data.frame(names(pop[[v]]), unname(pop[[v]]) * scale)
  names(d) <- c(v, "Freq")
  d
})
sample_margins <- list(~region, ~age, ~plan)
control <- list(maxit = 1000, epsilon = 1e-13)   # < 1: relative to the weights' total
rake_to <- function(design, scale = 1)
  rake(design, sample_margins, pop_margins(scale), control = control)

# -- case 'counts': base weights, population counts ---------------------------------------------
d_counts <- rake_to(svydesign(ids = ~1, weights = ~base_weight, data = df))
# -- case 'shares': no base weights, shares (as counts scaled to n, which is what shares mean) -
d_shares <- rake_to(svydesign(ids = ~1, weights = ~rep(1, n), data = df), scale = n / 15000)
# -- case 'trimmed': base weights, counts, weights within 0.3-2.5 x the mean --------------------
# trimWeights(strict = TRUE) then rake again, until the raked weights are within the bounds
# (relative tol) or a round changes no weight by more than tol x the mean: the loop of
# cxlib.weights.rake.
low <- 0.3; high <- 2.5; tol <- 1e-10
d_trim <- d_counts
w <- weights(d_trim)
mw <- sum(w) / n
lo <- low * mw; hi <- high * mw
outside <- w < lo * (1 - tol) | w > hi * (1 + tol)
n_trimmed <- sum(outside); rounds <- 0
while (any(outside) && rounds < 200) {
  rounds <- rounds + 1
  prev <- w
  d_trim <- rake_to(trimWeights(d_trim, upper = hi, lower = lo, strict = TRUE))
  w <- weights(d_trim)
  outside <- w < lo * (1 - tol) | w > hi * (1 + tol)
  if (max(abs(w - prev)) <= tol * mw) break
}

fmt <- function(x) sprintf("%.17g", x)
write.csv(data.frame(id = df$id, counts = fmt(weights(d_counts)), shares = fmt(weights(d_shares)),
                     trimmed = fmt(weights(d_trim))), "weights.csv", row.names = FALSE,
          quote = FALSE)
diag <- function(case, w, extra = list()) {
  values <- c(list(n = length(w), total = sum(w), deff = length(w) * sum(w^2) / sum(w)^2,
                   n_eff = sum(w)^2 / sum(w^2), weight_min = min(w), weight_max = max(w)),
              extra)
  data.frame(case = case, diagnostic = names(values), value = fmt(unlist(values)))
}
trim_diag <- list(n_trimmed = n_trimmed, trim_rounds = rounds)
write.csv(rbind(diag("counts", weights(d_counts)), diag("shares", weights(d_shares)),
                diag("trimmed", weights(d_trim), trim_diag)),
          "diagnostics.csv", row.names = FALSE, quote = FALSE)
cat("trim rounds:", rounds, " trimmed:", n_trimmed, " outside at the end:", sum(outside), "\n")
