"""What an operator sees of a running bot: health and readiness, Prometheus metrics and the observer that feeds
them, and doctor's diagnosis of a set-up."""
