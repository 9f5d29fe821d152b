#include "errors.h"

ROT_ERRORS(SM_CODE_DEFINE)
