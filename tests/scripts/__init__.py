"""Training scripts run by the tests as subprocesses (plain, `torchrun`, `accelerate launch`) or in-process."""
