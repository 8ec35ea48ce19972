# Reference results for tests/test_survival.py, from R's survival package.
# Run from this folder:  Rscript make_reference.R
# (R 4.2.2, survival 3.5-3 from Debian's r-base-core and r-cran-survival; not needed in CI.)
library(survival)
options(digits = 17)
w <- function(x, file) write.csv(x, file, row.names = FALSE)

# the datasets, as shipped with survival (lung: status 1 = censored, 2 = dead;
# veteran: status 0/1, celltype a factor)
w(survival::lung, "lung.csv")
w(survival::veteran, "veteran.csv")

fits <- list(
  lung = coxph(Surv(time, status) ~ age + sex + ph.ecog, data = lung),
  lung_strata = coxph(Surv(time, status) ~ age + ph.ecog + strata(sex), data = lung),
  veteran = coxph(Surv(time, status) ~ trt + karno + age, data = veteran),
  veteran_celltype = coxph(Surv(time, status) ~ karno + age + celltype, data = veteran),
  veteran_strata = coxph(Surv(time, status) ~ karno + age + strata(celltype), data = veteran)
)

# cox.zph: exact score test from the Efron fit, per term and GLOBAL, for each time transform
zph <- NULL
for (name in names(fits)) {
  for (tr in c("km", "rank", "identity", "log")) {
    for (terms in c(TRUE, FALSE)) {
      z <- cox.zph(fits[[name]], transform = tr, terms = terms)
      tab <- z$table
      zph <- rbind(zph, data.frame(fit = name, transform = tr, terms = terms,
                                   term = rownames(tab), chisq = tab[, "chisq"],
                                   df = tab[, "df"], p = tab[, "p"]))
    }
  }
}
w(zph, "cox_zph.csv")

# scaled Schoenfeld residuals and transformed times (km), one row per event, lung
z <- cox.zph(fits$lung, transform = "km", terms = FALSE)
w(data.frame(x = z$x, time = z$time, z$y, check.names = FALSE), "cox_zph_lung_resid.csv")

# coefficients and concordance (with its infinitesimal-jackknife variance) of each fit
conc <- NULL
for (name in names(fits)) {
  cc <- concordance(fits[[name]])
  ct <- cc$count
  if (is.matrix(ct)) ct <- colSums(ct)
  conc <- rbind(conc, data.frame(fit = name, concordance = cc$concordance, var = cc$var,
                                 std_err = sqrt(cc$var), concordant = ct[["concordant"]],
                                 discordant = ct[["discordant"]], tied_x = ct[["tied.x"]],
                                 tied_y = ct[["tied.y"]], tied_xy = ct[["tied.xy"]],
                                 n = cc$n, loglik = fits[[name]]$loglik[2]))
}
# concordance of a given score (no model): karno on veteran, higher karno = longer survival
cc <- concordance(Surv(time, status) ~ karno, data = veteran)
ct <- cc$count
conc <- rbind(conc, data.frame(fit = "veteran_karno_score", concordance = cc$concordance,
                               var = cc$var, std_err = sqrt(cc$var), concordant = ct[["concordant"]],
                               discordant = ct[["discordant"]], tied_x = ct[["tied.x"]],
                               tied_y = ct[["tied.y"]], tied_xy = ct[["tied.xy"]], n = cc$n,
                               loglik = NA))
cc <- concordance(Surv(time, status) ~ karno + strata(celltype), data = veteran)
ct <- colSums(cc$count)
conc <- rbind(conc, data.frame(fit = "veteran_karno_score_strata", concordance = cc$concordance,
                               var = cc$var, std_err = sqrt(cc$var), concordant = ct[["concordant"]],
                               discordant = ct[["discordant"]], tied_x = ct[["tied.x"]],
                               tied_y = ct[["tied.y"]], tied_xy = ct[["tied.xy"]], n = cc$n,
                               loglik = NA))
w(conc, "concordance.csv")

coefs <- NULL
for (name in names(fits)) {
  f <- fits[[name]]
  coefs <- rbind(coefs, data.frame(fit = name, term = names(coef(f)), coef = unname(coef(f)),
                                   se = unname(sqrt(diag(f$var)))))
}
w(coefs, "coef.csv")

# Kaplan-Meier with log-log intervals; veteran's treatment 2 arm and lung's men both reach
# survival 0 (R gives no interval there: NA)
km <- NULL
for (spec in list(list("veteran_trt", veteran, veteran$trt), list("lung_sex", lung, lung$sex))) {
  fit <- survfit(Surv(time, status) ~ grp, data = cbind(spec[[2]], grp = spec[[3]]),
                 conf.type = "log-log")
  s <- summary(fit, censored = FALSE)
  km <- rbind(km, data.frame(data = spec[[1]], group = sub("grp=", "", as.character(s$strata)),
                             time = s$time, survival = s$surv, ci_low = s$lower,
                             ci_high = s$upper, at_risk = s$n.risk, events = s$n.event))
}
w(km, "kaplan_meier.csv")
