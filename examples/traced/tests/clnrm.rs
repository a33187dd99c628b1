clnrm_harness::main!();
