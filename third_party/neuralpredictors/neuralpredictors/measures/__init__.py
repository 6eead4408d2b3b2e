from .modules import GammaLoss, GaussianLoss, PoissonLoss
from .np_functions import corr
from .zero_inflated_losses import ZIGLoss, ZILLoss
