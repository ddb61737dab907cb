/* main.c - placeholder until the pipeline wiring lands. */
#include <stdio.h>

int main(void)
{
	fprintf(stderr, "sluice: not yet\n");
	return 1;
}
