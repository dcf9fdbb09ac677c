import CorscopeCLI
Corscope.runAndExit()
