# Difference-in-differences references on a real panel: plm's Produc (48 US states,
# 1970-1986), outcome log(gsp), a synthetic treatment: every third state (alphabetical
# order, 1st, 4th, ...) treated from 1979. An unbalanced version drops the rows with
# (state number * 7 + year) %% 5 == 0. Run from this folder: Rscript did.R
# (R 4.2, Debian r-cran-plm 2.6, r-cran-sandwich 3.0).
#
# Clustered SEs are CR1: G/(G-1) * (N-1)/(N-K) * bread meat bread (sandwich's vcovCL with
# type "HC0", cadjust = TRUE, times (N-1)/(N-K)); K counts the coefficients of the
# within regression (time effects and treatment terms), not the unit effects nested in
# the clusters (the convention of Stata's xtreg/reghdfe and fixest's default). Without
# unit effects K is lm's rank, i.e. vcovCL's type "HC1".
suppressMessages({library(plm); library(sandwich)})
data("Produc", package = "plm")
d <- data.frame(state = as.character(Produc$state), year = Produc$year,
                region = Produc$region, y = log(Produc$gsp))
states <- sort(unique(d$state))
num <- match(d$state, states)
d$treated <- as.integer(num %% 3 == 1)
d$post <- as.integer(d$year >= 1979)
d$D <- d$treated * d$post
write.csv(d[, c("state", "year", "region", "treated", "y")], "produc.csv", row.names = FALSE)
unbalanced <- d[(num * 7 + d$year) %% 5 != 0, ]

cr1 <- function(fit, cluster, data, k) {
  v <- vcovCL(fit, cluster = data[[cluster]], type = "HC0", cadjust = TRUE)
  n <- nobs(fit)
  v * (n - 1) / (n - k)
}
rows <- list()
add <- function(name, panel, unit_effects, cluster) {
  nt <- length(unique(panel$year))
  if (unit_effects) {
    fit <- lm(y ~ D + factor(state) + factor(year), data = panel)
    k <- (nt - 1) + 1
    v <- cr1(fit, cluster, panel, k)
    # plm's two-way within estimator gives the same coefficient
    p <- plm(y ~ D, data = pdata.frame(panel, index = c("state", "year")),
             model = "within", effect = "twoways")
    stopifnot(abs(coef(p)[["D"]] - coef(fit)[["D"]]) < 1e-10)
  } else {
    fit <- lm(y ~ treated + factor(year) + D, data = panel)
    v <- vcovCL(fit, cluster = panel[[cluster]], type = "HC1")
  }
  rows[[length(rows) + 1]] <<- data.frame(
    case = name, unit_effects = unit_effects, cluster = cluster, n = nobs(fit),
    clusters = length(unique(panel[[cluster]])),
    estimate = coef(fit)[["D"]], se = sqrt(v["D", "D"]))
}
add("balanced", d, TRUE, "state")
add("balanced", d, TRUE, "region")
add("balanced", d, FALSE, "state")
add("unbalanced", unbalanced, TRUE, "state")
add("unbalanced", unbalanced, TRUE, "region")
add("unbalanced", unbalanced, FALSE, "state")
out <- do.call(rbind, rows)
write.csv(format(out, digits = 17), "produc_did.csv", row.names = FALSE, quote = FALSE)
print(out, digits = 10)

# event study: one treated x year-relative-to-1979 term per year, 1978 (-1) the reference;
# unit and year effects, clustered by state; pre-trend Wald test of the terms before -1
event <- function(panel) {
  rel <- panel$year - 1979
  levels <- setdiff(sort(unique(rel)), -1)
  for (r in levels) panel[[paste0("e", r + 100)]] <- panel$treated * (rel == r)
  terms <- paste0("e", levels + 100)
  fit <- lm(as.formula(paste("y ~", paste(terms, collapse = " + "),
                             "+ factor(state) + factor(year)")), data = panel)
  nt <- length(unique(panel$year))
  v <- cr1(fit, "state", panel, (nt - 1) + length(terms))
  b <- coef(fit)[terms]
  vv <- v[terms, terms]
  pre <- terms[levels < -1]
  chi2 <- as.numeric(t(b[pre]) %*% solve(vv[pre, pre]) %*% b[pre])
  list(table = data.frame(period = levels, estimate = unname(b), se = sqrt(diag(vv))),
       pretrend = data.frame(chi2 = chi2, df = length(pre),
                             p = pchisq(chi2, length(pre), lower.tail = FALSE)))
}
for (name in c("balanced", "unbalanced")) {
  es <- event(if (name == "balanced") d else unbalanced)
  write.csv(format(es$table, digits = 17), paste0("produc_event_", name, ".csv"),
            row.names = FALSE, quote = FALSE)
  write.csv(format(es$pretrend, digits = 17), paste0("produc_pretrend_", name, ".csv"),
            row.names = FALSE, quote = FALSE)
  print(es$pretrend)
}
