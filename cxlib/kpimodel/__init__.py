"""KPI-to-financial structural model: PLS path modelling, effects, what-if in money.

``fit_pls(spec, data)`` estimates a PLS path model (reproduces R plspm) with bootstrap
intervals; ``path_analysis`` fits observed-KPI layers with statsmodels;
``customer_kpis`` builds the customer-level KPI table from the contract tables;
``link_outcomes`` ties construct scores to retention and revenue, ``what_if`` turns a
KPI change into money with bootstrap intervals, ``rank_kpis`` ranks KPIs by money per
unit of improvement, ``ipma`` maps importance against performance.
"""

from __future__ import annotations

from ._fit import VIF_WARN, PLSResult, fit_pls, vif
from ._kpis import KPI_UNITS, SAMPLE_SPEC, customer_kpis, kpi_owners
from ._outcomes import (OutcomeModel, WhatIfResult, index_shares, ipma, link_outcomes,
                        rank_kpis, what_if)
from ._plots import (index_comparison_plot, index_weights_plot, ipma_plot, path_diagram,
                     ranking_plot)
from ._pathanalysis import PathAnalysisResult, compare_indices, path_analysis
from ._quality import discriminant_validity, f_squared, measurement_quality
from ._spec import Block, ModelSpec, parse_spec

__all__ = ["Block", "ModelSpec", "PLSResult", "OutcomeModel", "WhatIfResult", "VIF_WARN",
           "KPI_UNITS", "SAMPLE_SPEC", "fit_pls", "parse_spec", "vif", "customer_kpis", "kpi_owners",
           "link_outcomes", "what_if", "rank_kpis", "ipma", "index_shares",
           "PathAnalysisResult", "path_analysis", "compare_indices",
           "measurement_quality", "discriminant_validity", "f_squared", "path_diagram",
           "index_weights_plot", "ipma_plot", "ranking_plot", "index_comparison_plot"]
