# Logistic relative weights (Tonidandel & LeBreton 2010) on R's `infert` data,
# logistic regression by glm() iterated to convergence (epsilon 1e-14).
# Run from this folder: Rscript logistic_relative_weights.R  (R 4.2, base R only)
data(infert)
x <- as.matrix(infert[, c("age", "parity", "spontaneous", "induced")])
y <- infert$case
write.csv(data.frame(x, case = y), "infert.csv", row.names = FALSE)
xs <- scale(x)
e <- eigen(cor(xs), symmetric = TRUE)
lam <- e$vectors %*% diag(sqrt(e$values)) %*% t(e$vectors)
z <- xs %*% solve(lam)
fit <- glm(y ~ z, family = binomial, control = glm.control(epsilon = 1e-14, maxit = 100))
b <- coef(fit)[-1]
logit <- predict(fit, type = "link")
prob <- fitted(fit)
r2 <- cor(y, prob)^2
b_std <- b * apply(z, 2, sd) * sqrt(r2) / sd(logit)
w <- as.vector((lam^2) %*% (b_std^2))
out <- data.frame(driver = colnames(x), weight = w)
write.csv(format(out, digits = 17), "infert_weights.csv", row.names = FALSE, quote = FALSE)
print(out, digits = 12)
