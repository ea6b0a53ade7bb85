"""The cash forecast: expected flows, funders' delays, the daily projection, risk, backtest, frames."""
