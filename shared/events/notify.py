"""Events the notify service publishes (topics ``notify.subscription``, ``notify.delivery``)."""
