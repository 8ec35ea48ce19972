# rho_A (Dijkstra & Henseler 2015) of the ECSI blocks with PLS Mode A outer weights,
# as seminr / cSEM / SmartPLS report it: indicators standardised, path weighting scheme,
# PLS algorithm written out below (Lohmoeller 1989), iterated until no weight moves by 1e-12.
# Also rho_A with the first-principal-component weights, for contrast.
# Data: ../../../../shared/reference/ecsi_satisfaction/satisfaction.csv (R plspm's
# `satisfaction`). Run from this folder: Rscript rho_a.R   (R 4.2, base R only)
data <- read.csv("../../../../shared/reference/ecsi_satisfaction/satisfaction.csv", row.names = 1)
blocks <- list(IMAG = paste0("imag", 1:5), EXPE = paste0("expe", 1:5),
               QUAL = paste0("qual", 1:5), VAL = paste0("val", 1:4),
               SAT = paste0("sat", 1:4), LOY = paste0("loy", 1:4))
lv <- names(blocks)
path <- matrix(0, 6, 6, dimnames = list(lv, lv))  # path[i, j] = 1: j -> i
path["EXPE", "IMAG"] <- 1
path["QUAL", "EXPE"] <- 1
path["VAL", c("EXPE", "QUAL")] <- 1
path["SAT", c("IMAG", "EXPE", "QUAL", "VAL")] <- 1
path["LOY", c("IMAG", "SAT")] <- 1
X <- lapply(blocks, function(b) scale(as.matrix(data[, b])))
std <- function(v) as.vector(scale(v))
w <- lapply(blocks, function(b) rep(1, length(b)))
for (iter in 1:1000) {
  Y <- sapply(lv, function(j) std(X[[j]] %*% w[[j]]))
  Z <- sapply(lv, function(j) {
    pred <- which(path[j, ] == 1)
    succ <- which(path[, j] == 1)
    e <- rep(0, 6)
    if (length(pred)) e[pred] <- coef(lm(Y[, j] ~ Y[, pred, drop = FALSE] - 1))
    if (length(succ)) e[succ] <- cor(Y[, j], Y[, succ])
    Y %*% e
  })
  new <- lapply(lv, function(j) {
    v <- as.vector(cov(X[[j]], Z[, j]))
    v / sd(as.vector(X[[j]] %*% v))
  })
  names(new) <- lv
  change <- max(abs(unlist(new) - unlist(w)))
  w <- new
  if (change < 1e-12) break
}
rho_a <- function(S, w) {
  w <- w / sqrt(as.numeric(t(w) %*% S %*% w))
  ww <- w %o% w
  sum(w^2)^2 * as.numeric(t(w) %*% (S - diag(diag(S))) %*% w) /
    as.numeric(t(w) %*% (ww - diag(diag(ww))) %*% w)
}
out <- do.call(rbind, lapply(lv, function(j) {
  S <- cor(data[, blocks[[j]]])
  pc1 <- eigen(S, symmetric = TRUE)$vectors[, 1]
  data.frame(construct = j, rho_a = rho_a(S, w[[j]]), rho_a_first_component = rho_a(S, pc1))
}))
weights <- do.call(rbind, lapply(lv, function(j)
  data.frame(construct = j, indicator = blocks[[j]], weight = w[[j]])))
cat("iterations:", iter, "\n")
write.csv(format(out, digits = 17), "ecsi_rho_a.csv", row.names = FALSE, quote = FALSE)
write.csv(format(weights, digits = 17), "ecsi_path_weights.csv", row.names = FALSE, quote = FALSE)
print(out, digits = 10)
